"""Brand logos: content checks and storage.

A logo is decoded with Pillow and re-encoded from its pixels alone, which drops all
metadata (EXIF, GPS, XMP, ICC profiles, comments, PNG text chunks) and anything
smuggled after the image data (polyglots). The file name
is the SHA-256 of the re-encoded bytes, so identical logos share one file and a
URL never changes meaning. Storage sits behind :class:`LogoStore` so several app
hosts can later share one store.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from pathlib import Path
from typing import Protocol

from PIL import Image, ImageOps, UnidentifiedImageError

from .domain.errors import ValidationFailed

FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
MAX_SIDE_PX = 4096
URL_PREFIX = "/uploads/logos/"


def sanitize_image(data: bytes) -> tuple[bytes, str]:
    """Re-encoded image bytes and their extension; ValidationFailed if not a usable image."""
    if not data:
        raise ValidationFailed.one("body", "the logo is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                if fmt not in FORMATS:
                    raise ValidationFailed.one(
                        "body", f"unsupported image format {fmt}; use PNG, JPEG or WebP")
                if max(probe.size) > MAX_SIDE_PX:
                    raise ValidationFailed.one(
                        "body", f"the logo is {probe.size[0]}x{probe.size[1]} px; "
                                f"at most {MAX_SIDE_PX} px per side")
                probe.load()  # decodes everything: truncated data fails here
                # The EXIF orientation is applied before the EXIF goes.
                image = ImageOps.exif_transpose(probe)
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombWarning,
            Image.DecompressionBombError):
        raise ValidationFailed.one("body", "not a PNG, JPEG or WebP image") from None
    except (OSError, SyntaxError, ValueError):
        raise ValidationFailed.one("body", "the image is damaged or truncated") from None

    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    # Pillow's encoders write back what the decoder left in ``info`` (a JPEG comment, a
    # PNG ICC profile, ...): keep only the transparency, which is part of the picture.
    image.info = {k: v for k, v in image.info.items() if k == "transparency"}
    out = io.BytesIO()
    options = {"PNG": {"optimize": True}, "JPEG": {"quality": 90}, "WEBP": {"quality": 90}}
    image.save(out, format=fmt, **options[fmt])
    return out.getvalue(), FORMATS[fmt]


class LogoStore(Protocol):
    def save(self, data: bytes, ext: str) -> str:
        """Store sanitized bytes; return the public URL path."""

    def delete(self, url: str) -> None:
        """Remove a stored logo (missing files are fine)."""


class LocalLogoStore:
    """Logos as files under ``<upload_dir>/logos`` (nginx serves ``/uploads/``)."""

    def __init__(self, upload_dir: Path):
        self.directory = Path(upload_dir) / "logos"

    def save(self, data: bytes, ext: str) -> str:
        name = f"{hashlib.sha256(data).hexdigest()}.{ext}"
        target = self.directory / name
        if not target.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            # Write then rename: readers never see a half-written file.
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.chmod(tmp, 0o644)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return URL_PREFIX + name

    def delete(self, url: str) -> None:
        if url.startswith(URL_PREFIX):
            name = url.removeprefix(URL_PREFIX)
            if "/" not in name and not name.startswith("."):
                (self.directory / name).unlink(missing_ok=True)
