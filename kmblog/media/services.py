"""Uploads checked, re-encoded and stored; the library's list, uses and deletion.

An upload is refused unless Pillow reads it as a JPEG, PNG or WebP of the type its name
claims, of a size in pixels that was checked from its header before any decoding, with
nothing else (a script, a page, an archive) riding along in the same bytes. What is
kept is never the uploaded file: each stored variant is re-encoded from the pixels
alone, so metadata (GPS positions above all) and anything appended stay behind.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kmblog.extensions import db
from kmblog.models import Media, Page, Post, User, utcnow
from kmblog.rendering import ImageVariants, clean_line, media_paths

# Pillow's format name -> (MIME type, extensions a file of it may be named with,
# the classic format stored beside WebP).
ACCEPTED = {
    "JPEG": ("image/jpeg", {"jpg", "jpeg", "jpe", "jfif"}, "jpg"),
    "PNG": ("image/png", {"png"}, "png"),
    "WEBP": ("image/webp", {"webp"}, "jpg"),
}
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
# A file that is also something else: a page or script a browser or server might run,
# an archive a ZIP reader would open (its directory sits at the end of the file).
# Each marker is five bytes or more, so that compressed pixels, which look like random
# bytes, hold one by chance about once in ten thousand 5 MB photos.
_FOREIGN_MARKERS = re.compile(
    rb"<\?php|<script|<html[\s>]|<body[\s>]|<iframe|<svg[\s>]|<!doctype|<\?xml\s",
    re.IGNORECASE,
)
_ZIP_DIRECTORY_END = b"PK\x05\x06"
_PNG_END = b"IEND\xaeB`\x82"
# A stored file's name: the hash, an optional width, a format (see Media.name).
FILE_NAME = re.compile(r"[0-9a-f]{64}(?:-[0-9]+)?\.(?:jpg|png|webp)")
ALT_MAX = 500


class MediaError(ValueError):
    """An upload refused; the message is for the author. `status`: the HTTP answer."""

    status = 422


class MediaStorageError(MediaError):
    """The upload was fine but could not be written (a full disk, a folder the server
    may not write): the server's trouble, not the author's, so 503."""

    status = 503


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str
    declared_type: str
    alt: str


@dataclass(frozen=True)
class MediaUse:
    title: str
    post_id: int | None
    page_id: int | None


def media_dir(configured: str | None, instance_path: str) -> Path:
    return Path(configured) if configured else Path(instance_path) / "media"


def _checked_image(upload: Upload, max_bytes: int, max_pixels: int) -> tuple[Image.Image, str]:
    """The upload opened and fully decoded, and its Pillow format; MediaError if not."""
    data = upload.data
    if not data:
        raise MediaError("The file is empty.")
    if len(data) > max_bytes:
        raise MediaError(f"The file is larger than {max_bytes // (1024 * 1024)} MB.")
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml", b"<!doctype svg")) or b"<svg" in head:
        raise MediaError(
            "SVG images are not accepted: they can carry scripts. Upload a PNG or JPEG."
        )
    try:
        with warnings.catch_warnings():
            # Pillow warns above MAX_IMAGE_PIXELS and refuses above twice that.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(ACCEPTED))
            width, height = image.size
            if width * height > max_pixels or not width or not height:
                raise MediaError(
                    f"The image is {width:,} × {height:,} pixels, more than the "
                    f"{max_pixels // 1_000_000} megapixels accepted."
                )
            _check_claims(upload, image.format or "")
            _check_nothing_else(data, image.format or "")
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise MediaError(
            f"The image is larger in pixels than the {max_pixels // 1_000_000} megapixels accepted."
        ) from error
    except UnidentifiedImageError as error:
        raise MediaError(
            "This file is not an image that can be shown here: upload a JPEG, PNG or WebP."
        ) from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        if isinstance(error, MediaError):
            raise
        raise MediaError("The image is damaged or incomplete and cannot be read.") from error
    return image, image.format or ""


def _check_claims(upload: Upload, found: str) -> None:
    content_type, extensions, _ = ACCEPTED[found]
    suffix = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
    named = suffix in extensions
    declared = upload.declared_type.split(";")[0].strip().lower()
    # Some systems still say image/jpg or image/pjpeg; a browser that cannot tell says
    # application/octet-stream.
    aliases = {content_type, "application/octet-stream", ""}
    if content_type == "image/jpeg":
        aliases |= {"image/jpg", "image/pjpeg"}
    if not named or declared not in aliases:
        raise MediaError(
            f"The file claims to be {suffix.upper() or declared or 'something else'} "
            f"but is a {found} image; it was not stored. Rename it to match what it is."
        )


def _check_nothing_else(data: bytes, found: str) -> None:
    if (
        _FOREIGN_MARKERS.search(data)
        or _ZIP_DIRECTORY_END in data[-66_000:]
        or (found == "PNG" and not data.rstrip(b"\x00").endswith(_PNG_END))
    ):
        raise MediaError(
            "The file holds something besides the image (a script, a page or an "
            "archive), so it was not stored. Export the picture again from an image editor."
        )


def _encode(image: Image.Image, fmt: str, icc: bytes | None) -> bytes:
    out = io.BytesIO()
    # A fresh image.info: nothing of the original's metadata is written again.
    image.info = {}
    options: dict[str, object] = {"icc_profile": icc} if icc else {}
    if fmt == "JPEG":
        image.convert("RGB").save(
            out, "JPEG", quality=85, optimize=True, progressive=True, **options
        )
    elif fmt == "PNG":
        image.save(out, "PNG", optimize=True, **options)
    else:
        image.save(out, "WEBP", quality=82, method=4, **options)
    return out.getvalue()


def _variants(
    image: Image.Image, classic: str, widths: Iterable[int]
) -> tuple[dict[str, bytes], list[int], tuple[int, int]]:
    """Every stored file's name suffix and bytes, the widths made, the largest's size."""
    icc = image.info.get("icc_profile")
    # The camera's orientation applied to the pixels: the EXIF that says it is dropped.
    upright = ImageOps.exif_transpose(image)
    if upright.mode not in {"RGB", "RGBA", "L", "LA"}:
        has_alpha = upright.mode in {"P", "PA"} and "transparency" in upright.info
        upright = upright.convert("RGBA" if has_alpha or upright.mode == "PA" else "RGB")
    if classic == "jpg" and upright.mode in {"RGBA", "LA"}:
        classic = "png"
    wanted = sorted(widths)
    largest = min(upright.width, wanted[-1])
    made = sorted({w for w in wanted if w < upright.width} | {largest})
    files: dict[str, bytes] = {}
    size = upright.size
    for width in made:
        height = max(1, round(upright.height * width / upright.width))
        resized = upright.resize((width, height), Image.Resampling.LANCZOS)
        classic_bytes = _encode(resized.copy(), "JPEG" if classic == "jpg" else "PNG", icc)
        files[f"-{width}.{classic}"] = classic_bytes
        files[f"-{width}.webp"] = _encode(resized.copy(), "WEBP", icc)
        if width == largest:
            files[f".{classic}"] = classic_bytes
            size = (width, height)
    return files, made, size


def store_upload(
    upload: Upload,
    uploader: User | None,
    folder: Path,
    max_bytes: int,
    max_pixels: int,
    widths: Iterable[int],
) -> Media:
    """Check an upload, write its variants and record it; the same bytes uploaded again
    give the stored Media. MediaError, with nothing stored, when it is refused."""
    alt = clean_line(upload.alt)
    if not alt:
        raise MediaError(
            "Describe the image in a few words (its alternative text) for readers who "
            "cannot see it."
        )
    if len(alt) > ALT_MAX:
        raise MediaError(f"Keep the description to {ALT_MAX} characters or fewer.")
    sha = hashlib.sha256(upload.data).hexdigest()
    known = db.session.scalar(select(Media).where(Media.sha256 == sha))
    if known is not None:
        return known
    image, found = _checked_image(upload, max_bytes, max_pixels)
    content_type, _, classic = ACCEPTED[found]
    with image:
        files, made, (width, height) = _variants(image, classic, widths)
    extension = next(name[1:] for name in files if name.startswith("."))
    written: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for suffix, data in files.items():
            target = folder / f"{sha}{suffix}"
            # Written under a temporary name and renamed: a reader never gets half a file.
            partial = target.with_suffix(target.suffix + ".part")
            written.append(partial)
            partial.write_bytes(data)
            partial.replace(target)
            written.append(target)
    except OSError as error:
        # A full disk or a folder we may not write: the author is told, not shown a 500,
        # and no file of this image is left behind (no row names them).
        for path in written:
            path.unlink(missing_ok=True)
        raise MediaStorageError(
            "The image could not be stored: the server's disk is full or cannot be "
            "written. Nothing was saved; please try again later."
        ) from error
    media = Media(
        sha256=sha,
        extension=extension,
        content_type=CONTENT_TYPES[extension],
        original_name=clean_line(upload.filename)[:255],
        byte_size=len(upload.data),
        width=width,
        height=height,
        widths=",".join(str(w) for w in made),
        alt=alt,
        uploader=uploader,
        created_at=utcnow(),
    )
    db.session.add(media)
    try:
        db.session.commit()
    except IntegrityError:
        # The same bytes uploaded at the same moment by another request: theirs stands
        # (the files are the same, named by the same hash).
        db.session.rollback()
        return db.session.scalars(select(Media).where(Media.sha256 == sha)).one()
    return media


@dataclass(frozen=True)
class StoredFile:
    """One file kept for an image: its name in the media folder, width and type."""

    name: str
    width: int
    content_type: str


def stored_files(media: Media) -> list[StoredFile]:
    """Every file store_upload wrote for an image: the largest in the classic format
    (the one Markdown names), then each width in the classic format and in WebP."""
    classic = CONTENT_TYPES[media.extension]
    files = [StoredFile(media.name, media.width, classic)]
    for width in media.width_list:
        files.append(StoredFile(f"{media.sha256}-{width}.{media.extension}", width, classic))
        files.append(StoredFile(f"{media.sha256}-{width}.webp", width, CONTENT_TYPES["webp"]))
    return files


def markdown_for(media: Media) -> str:
    alt = media.alt.replace("[", "(").replace("]", ")")
    return f"![{alt}]({media.url})"


def variants_of(media: Media) -> ImageVariants:
    widths = media.width_list
    return ImageVariants(
        width=media.width,
        height=media.height,
        classic=tuple((f"/media/{media.sha256}-{w}.{media.extension}", w) for w in widths),
        webp=tuple((f"/media/{media.sha256}-{w}.webp", w) for w in widths),
    )


def image_variants(source: str) -> dict[str, ImageVariants]:
    """The uploaded images a post's text names, by address, for render_post: one query
    when it names any, none when it names none."""
    hashes = {path.removeprefix("/media/")[:64] for path in media_paths(source)}
    if not hashes:
        return {}
    found = db.session.scalars(select(Media).where(Media.sha256.in_(hashes)))
    return {media.url: variants_of(media) for media in found}


def library() -> list[Media]:
    return list(
        db.session.scalars(select(Media).order_by(Media.created_at.desc(), Media.id.desc()))
    )


def uses(media_list: list[Media]) -> dict[int, list[MediaUse]]:
    """Which posts and pages name each image, in two queries whatever the number."""
    by_hash = {media.sha256: media.id for media in media_list}
    found: dict[int, list[MediaUse]] = {media.id: [] for media in media_list}
    if not by_hash:
        return found
    for model in (Post, Page):
        rows = db.session.execute(
            select(model.id, model.title, model.body_source).where(
                model.body_source.contains("/media/")
            )
        )
        for row_id, title, body in rows:
            for sha in {path.removeprefix("/media/")[:64] for path in media_paths(body)}:
                if sha in by_hash:
                    found[by_hash[sha]].append(
                        MediaUse(
                            title=title,
                            post_id=row_id if model is Post else None,
                            page_id=row_id if model is Page else None,
                        )
                    )
    return found


def find_media(media_id: int) -> Media | None:
    return db.session.get(Media, media_id)


def delete_media(media: Media, folder: Path) -> None:
    """Remove an image and its files; MediaError while a post or page shows it."""
    needle = f"/media/{media.sha256}"
    in_use = db.session.scalar(
        select(Post.title).where(Post.body_source.contains(needle)).limit(1)
    ) or db.session.scalar(select(Page.title).where(Page.body_source.contains(needle)).limit(1))
    if in_use is not None:
        raise MediaError(
            f"“{in_use}” shows this image; take it out of the text first, then delete it."
        )
    db.session.delete(media)
    db.session.commit()
    for path in folder.glob(f"{media.sha256}*"):
        path.unlink(missing_ok=True)


def content_type_of(name: str) -> str:
    return CONTENT_TYPES[name.rsplit(".", 1)[1]]
