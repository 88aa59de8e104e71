"""Brand logos: content checks and storage.

A logo is decoded with Pillow and re-encoded from its pixels alone, which drops all
metadata (EXIF, GPS, XMP, ICC profiles, comments, PNG text chunks), and with it any
payload hidden inside them. A *polyglot* (an image with another file, HTML, a ZIP or
PHP, appended after the image's end) is refused with a 422 instead: the end is found
from the format's own structure (:func:`image_end.image_end`), and anything after it
but a short run of zero bytes (padding some writers add, which carries nothing) is
refused before the pixels are decoded. The file name
is the SHA-256 of the re-encoded bytes, so identical logos share one stored copy and a
URL never changes meaning. The bytes live in the database (``storage/logos.py``), so every
app host serves the same logos and a database backup holds them.
"""

from __future__ import annotations

import hashlib
import io
import re
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from .domain.errors import ValidationFailed
from .image_end import image_end

FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
MAX_SIDE_PX = 4096
MAX_PIXELS = MAX_SIDE_PX * MAX_SIDE_PX
URL_PREFIX = "/uploads/logos/"
MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}
# The only names a logo has: its SHA-256 and the extension of its format.
_NAME = re.compile(r"[0-9a-f]{64}\.(?:png|jpg|webp)")
_TOO_BIG = f"at most {MAX_SIDE_PX} px per side ({MAX_PIXELS} pixels)"
# Zero bytes after the image's end that are tolerated: some writers pad a file to an
# alignment with a few 0x00 bytes, which carry nothing. Any other byte, or a longer run,
# is refused as a polyglot.
MAX_ZERO_PADDING = 16
_NAMES = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP"}

# Pillow's own bomb guard at the same limit: open() refuses a header declaring more than
# twice MAX_PIXELS (DecompressionBombError) and warns above MAX_PIXELS, where our own
# check, before any decoding, refuses with the size in the message.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def _decode(data: bytes) -> tuple[Image.Image, str]:
    """The decoded picture and its format (a key of FORMATS), refused before decoding when
    its header is not acceptable. The caller closes it."""
    image = Image.open(io.BytesIO(data))  # reads the header only
    try:
        fmt = image.format
        if fmt not in FORMATS:
            raise ValidationFailed.one(
                "body", f"unsupported image format {fmt}; use PNG, JPEG or WebP"
            )
        if getattr(image, "is_animated", False):
            raise ValidationFailed.one(
                "body", "animated images are not accepted; upload a still image"
            )
        width, height = image.size
        if max(width, height) > MAX_SIDE_PX or width * height > MAX_PIXELS:
            raise ValidationFailed.one("body", f"the logo is {width}x{height} px; {_TOO_BIG}")
        _refuse_trailing_data(data, fmt)  # before decoding: cheap, and a refusal anyway
        image.load()  # decodes everything: truncated data fails here
        # The EXIF orientation is applied before the EXIF goes (in place: no second copy
        # of a picture of up to 64 MB).
        ImageOps.exif_transpose(image, in_place=True)
    except BaseException:
        image.close()
        raise
    return image, fmt


def _refuse_trailing_data(data: bytes, fmt: str) -> None:
    """ValidationFailed when bytes other than a little zero padding follow the image's
    end; ValueError (damaged) when the image's structure ends before its end marker."""
    extra = data[image_end(data, fmt) :]
    if len(extra) <= MAX_ZERO_PADDING and not extra.strip(b"\0"):
        return
    noun = "byte" if len(extra) == 1 else "bytes"
    raise ValidationFailed.one(
        "body",
        f"the file carries {len(extra):,} {noun} after the end of the "
        f"{_NAMES[fmt]} image (a polyglot?); upload the image alone",
    )


def sanitize_image(data: bytes) -> tuple[bytes, str]:
    """Re-encoded image bytes and their extension; ValidationFailed if not a usable image."""
    if not data:
        raise ValidationFailed.one("body", "the logo is empty")
    try:
        image, fmt = _decode(data)
    except Image.DecompressionBombError:
        raise ValidationFailed.one(
            "body", f"the image declares a larger size than a logo may have: {_TOO_BIG}"
        ) from None
    except UnidentifiedImageError:
        raise ValidationFailed.one("body", "not a PNG, JPEG or WebP image") from None
    except (OSError, SyntaxError, ValueError):
        raise ValidationFailed.one("body", "the image is damaged or truncated") from None
    with image:
        if fmt == "JPEG" and image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        # Pillow's encoders write back what the decoder left in ``info`` (a JPEG comment,
        # a PNG ICC profile, ...): keep only the transparency, part of the picture.
        image.info = {k: v for k, v in image.info.items() if k == "transparency"}
        out = io.BytesIO()
        options: dict[str, dict[str, Any]] = {
            "PNG": {"optimize": True},
            "JPEG": {"quality": 90},
            "WEBP": {"quality": 90},
        }
        image.save(out, format=fmt, **options[fmt])
    return out.getvalue(), FORMATS[fmt]


def logo_name(data: bytes, ext: str) -> str:
    """The stored name of sanitized bytes: ``<sha256>.<ext>``."""
    return f"{hashlib.sha256(data).hexdigest()}.{ext}"


def is_logo_name(name: str) -> bool:
    """Whether ``name`` can be a logo's name (anything else is never looked up)."""
    return _NAME.fullmatch(name) is not None


def media_type(name: str) -> str:
    return MEDIA_TYPES[name.rsplit(".", 1)[1]]


def name_of_url(url: str) -> str | None:
    """The logo name in a brand's logo URL, None for anything else."""
    name = url.removeprefix(URL_PREFIX)
    return name if url.startswith(URL_PREFIX) and is_logo_name(name) else None
