"""HTTP Signatures as the fediverse speaks them: draft-cavage-http-signatures-12 with an
RSA key and a SHA-256 Digest of the body, the form Mastodon sends and accepts (what the
blog sends); on the way in, RFC 9421 HTTP Message Signatures too (Fedify 1.6+ and newer
Mastodons send those first).

The cryptography is the `cryptography` package's (RSA PKCS#1 v1.5 with SHA-256, PEM
keys). RFC 9421 is `http-message-signatures` (pyauth's, maintained, typed): signature
base, structured fields, Content-Digest. For the draft form no maintained Python library
exists (`httpsig` was last released in 2018), so this module builds and parses only its
signing string.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from http_message_signatures import HTTPMessageVerifier, HTTPSignatureKeyResolver, algorithms
from http_message_signatures.exceptions import HTTPMessageSignaturesException
from requests import Request

# What we sign on a POST (a GET has no digest): what Mastodon requires.
SIGNED_POST_HEADERS = ("(request-target)", "host", "date", "digest")
SIGNED_GET_HEADERS = ("(request-target)", "host", "date")
_PARAM = re.compile(r'\s*([a-zA-Z]+)\s*=\s*"([^"]*)"\s*,?')


class SignatureError(Exception):
    """A request's signature is missing, malformed, stale or wrong."""


def generate_keypair() -> tuple[str, str]:
    """A new RSA keypair as (private PEM, public PEM): 2048 bits, as Mastodon makes."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    return private, public


def digest_header(body: bytes) -> str:
    """The Digest header of a body (RFC 3230, SHA-256)."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def digest_matches(header: str, body: bytes) -> bool:
    """The Digest header names the body's SHA-256 (among other digests, perhaps; the
    algorithm's name in any case)."""
    wanted = digest_header(body).split("=", 1)[1]
    for part in header.split(","):
        algorithm, _, value = part.strip().partition("=")
        if algorithm.strip().lower() == "sha-256" and value.strip() == wanted:
            return True
    return False


def http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def _signing_string(
    method: str, path: str, headers: Mapping[str, str], names: tuple[str, ...]
) -> str:
    lines = []
    for name in names:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {path}")
            continue
        value = headers.get(name)
        if value is None:
            raise SignatureError(f"the signed header {name} is missing")
        lines.append(f"{name}: {value.strip()}")
    return "\n".join(lines)


def sign_request(
    method: str,
    url: str,
    body: bytes | None,
    key_id: str,
    private_key_pem: str,
    now: datetime,
) -> dict[str, str]:
    """The headers that sign a request to `url`: Host, Date, Digest (with a body) and
    Signature."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    headers = {"host": parts.netloc, "date": http_date(now)}
    names: tuple[str, ...] = SIGNED_GET_HEADERS
    if body is not None:
        headers["digest"] = digest_header(body)
        names = SIGNED_POST_HEADERS
    key = serialization.load_pem_private_key(private_key_pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SignatureError("only RSA keys sign here")
    signature = key.sign(
        _signing_string(method, path, headers, names).encode("utf-8"),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    headers["signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )
    return {name.title(): value for name, value in headers.items()}


@dataclass(frozen=True)
class SignatureHeader:
    """A parsed Signature header."""

    key_id: str
    algorithm: str
    headers: tuple[str, ...]
    signature: bytes
    raw: str


def parse_signature(value: str | None) -> SignatureHeader:
    """Read a Signature header (or an Authorization: Signature value)."""
    if not value:
        raise SignatureError("the request is not signed")
    if value.lower().startswith("signature "):
        value = value[len("signature ") :]
    params = {name.lower(): found for name, found in _PARAM.findall(value)}
    try:
        key_id = params["keyid"]
        signature = base64.b64decode(params["signature"], validate=True)
    except (KeyError, ValueError) as error:
        raise SignatureError("the Signature header is malformed") from error
    names = tuple(params.get("headers", "date").lower().split())
    return SignatureHeader(
        key_id, params.get("algorithm", "hs2019").lower(), names, signature, value
    )


def verify_request(
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    signature: SignatureHeader,
    public_key_pem: str,
    now: datetime,
    window: timedelta,
) -> None:
    """Raise SignatureError unless the request was signed by the key, recently (its
    Date within `window` of now), over its method, path, host, date and body digest."""
    lowered = {name.lower(): value for name, value in headers.items()}
    required = {"(request-target)", "host", "date"}
    if method.upper() == "POST":
        required.add("digest")
    if not required <= set(signature.headers):
        raise SignatureError(
            "the signature leaves out " + ", ".join(sorted(required - set(signature.headers)))
        )
    if signature.algorithm not in {"rsa-sha256", "hs2019"}:
        raise SignatureError(f"unsupported algorithm {signature.algorithm}")
    try:
        sent = parsedate_to_datetime(lowered.get("date", ""))
    except (TypeError, ValueError) as error:
        raise SignatureError("the Date header is malformed") from error
    if sent.tzinfo is None or abs(now - sent) > window:
        raise SignatureError("the Date header is too far from now")
    if method.upper() == "POST" and not digest_matches(lowered.get("digest", ""), body):
        raise SignatureError("the Digest does not match the body")
    try:
        key = serialization.load_pem_public_key(public_key_pem.encode("utf-8"))
    except (ValueError, UnsupportedAlgorithm) as error:
        raise SignatureError("the actor's public key is unreadable") from error
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("only RSA keys are accepted")
    try:
        key.verify(
            signature.signature,
            _signing_string(method, path, lowered, signature.headers).encode("utf-8"),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature as error:
        raise SignatureError("the signature does not match") from error


# -- RFC 9421 --------------------------------------------------------------------------

# What an RFC 9421 signature must cover to be taken for an inbox POST: the method, the
# address, and (through Content-Digest, checked against the body) the activity itself.
RFC9421_REQUIRED = ("@method", "@target-uri", "content-digest")


def is_rfc9421(headers: Mapping[str, str]) -> bool:
    return any(name.lower() == "signature-input" for name in headers)


class _KeyByCallback(HTTPSignatureKeyResolver):
    def __init__(self, resolve: Callable[[str], str]) -> None:
        self.resolve = resolve

    def resolve_public_key(self, key_id: str) -> bytes:
        return self.resolve(key_id).encode("utf-8")


def verify_rfc9421(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    public_key_pem_of: Callable[[str], str],
    window: timedelta,
) -> str:
    """Raise SignatureError unless an RFC 9421 signature by the key
    `public_key_pem_of(keyid)` covers the method, address and Content-Digest of this
    request, and was created within `window`; the Signature header (for replays)."""
    message = Request(method, url, headers=dict(headers)).prepare()
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.RSA_V1_5_SHA256,
        key_resolver=_KeyByCallback(public_key_pem_of),
    )
    try:
        verifier.verify(message, max_age=window, require_components=RFC9421_REQUIRED, body=body)
    except HTTPMessageSignaturesException as error:
        raise SignatureError(f"the RFC 9421 signature is not valid: {error}") from error
    lowered = {name.lower(): value for name, value in headers.items()}
    return lowered.get("signature", "")
