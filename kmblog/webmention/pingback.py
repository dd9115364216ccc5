"""Pingback 1.0, the older form of Webmention that Blogger's and WordPress's era spoke:
an XML-RPC call `pingback.ping(source, target)`, received here as a mention.

The call is read by the standard library's XML-RPC unmarshaller behind defusedxml's
parser (no entity expansion, no external entities: the body is untrusted), and answered
with an XML-RPC response or fault (fault codes from the Pingback specification).
"""

from __future__ import annotations

import xmlrpc.client
from dataclasses import dataclass
from xml.parsers.expat import ExpatError

from defusedxml import DefusedXmlException
from defusedxml.xmlrpc import DefusedExpatParser

METHOD = "pingback.ping"
# The Pingback specification's fault codes.
GENERIC_FAULT = 0
TARGET_NOT_USABLE = 33


@dataclass(frozen=True)
class PingbackCall:
    source: str
    target: str


class PingbackFault(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_call(body: bytes) -> PingbackCall:
    """The source and target of a pingback.ping call; PingbackFault for anything else."""
    unmarshaller = xmlrpc.client.Unmarshaller()
    parser = DefusedExpatParser(unmarshaller)
    try:
        parser.feed(body)
        parser.close()
        params = unmarshaller.close()
    except (ExpatError, DefusedXmlException, xmlrpc.client.ResponseError, ValueError, TypeError):
        raise PingbackFault(GENERIC_FAULT, "The request is not an XML-RPC call.") from None
    if unmarshaller.getmethodname() != METHOD:
        raise PingbackFault(GENERIC_FAULT, f"Only {METHOD} is answered here.")
    source, target = params if len(params) == 2 else (None, None)
    if not isinstance(source, str) or not isinstance(target, str):
        raise PingbackFault(GENERIC_FAULT, f"{METHOD} takes a source and a target address.")
    return PingbackCall(source=source, target=target)


def answer(message: str) -> bytes:
    """An XML-RPC response with one string."""
    return xmlrpc.client.dumps((message,), methodresponse=True, allow_none=False).encode()


def fault(error: PingbackFault) -> bytes:
    """An XML-RPC fault."""
    return xmlrpc.client.dumps(xmlrpc.client.Fault(error.code, error.message)).encode()
