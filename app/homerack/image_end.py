"""Where the data of a PNG, JPEG or WebP file really ends.

A *polyglot* is a valid image with another file (HTML, a ZIP, PHP) appended after the
image's end: decoders stop at the end and never look further, so the file is both.
Pillow's file position after decoding is not a reliable end (it reads ahead, and stops
wherever its decoder had enough), so the end is found here from each format's own
structure. Pure functions over bytes; each walk only moves forward, so the time is
linear in the size (already capped by the upload limit), and a truncated or malformed
structure raises ValueError instead of looping or reading past the end.
"""

from __future__ import annotations

import re

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def image_end(data: bytes, fmt: str) -> int:
    """The offset just after the image's last byte; ``fmt`` is Pillow's format name.

    ValueError when the structure is truncated or broken (no IEND, no EOI, a length
    running past the end of the data)."""
    if fmt == "PNG":
        return _png_end(data)
    if fmt == "JPEG":
        return _jpeg_end(data)
    if fmt == "WEBP":
        return _webp_end(data)
    raise ValueError(f"no end finder for {fmt}")


def _png_end(data: bytes) -> int:
    # Signature, then chunks: 4-byte big-endian length, 4-byte type, data, 4-byte CRC;
    # the image ends with the IEND chunk's CRC. (Pillow checks the CRCs when decoding.)
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG signature")
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        pos += 8 + length + 4  # always forward: at least 12 bytes a chunk
        if pos > len(data):
            break
        if kind == b"IEND":
            return pos
    raise ValueError("the PNG ends before its IEND chunk")


def _webp_end(data: bytes) -> int:
    # "RIFF", the little-endian size of what follows it, "WEBP": the file is size + 8
    # bytes, plus a pad byte when the size is odd (RIFF pads chunks to even sizes; a
    # missing pad byte at the very end is tolerated). What lies inside the RIFF is the
    # decoder's business: unknown chunks in it are metadata, dropped by the re-encode.
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a RIFF WEBP header")
    size = int.from_bytes(data[4:8], "little")
    end = 8 + size
    if size < 4 or end > len(data):
        raise ValueError("the WebP is shorter than its RIFF header says")
    return min(end + (size & 1), len(data))


# A marker in entropy-coded data: 0xFF followed by a byte that is not 0x00 (a stuffed
# 0xFF data byte), not a restart marker (0xD0-0xD7, which sit inside a scan) and not 0xFF
# (a fill byte: the marker starts at the last 0xFF of the run). One regex search instead
# of a Python loop per byte; no repetition in the pattern, so no backtracking.
_MARKER_IN_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
# A marker where one must be: fill bytes 0xFF may repeat before its code.
_MARKER_HERE = re.compile(rb"\xff+([^\xff])")
_SOI, _EOI, _SOS, _TEM = 0xD8, 0xD9, 0xDA, 0x01


def _jpeg_end(data: bytes) -> int:
    # SOI, then segments: a marker (0xFF, code) and, except for the standalone markers,
    # a 2-byte big-endian length that counts itself. After each SOS (start of scan) comes
    # entropy-coded data up to the next marker; progressive JPEGs have many scans, so
    # the walk goes on until EOI. An EXIF thumbnail is a whole JPEG (SOI...EOI) inside
    # the APP1 segment, skipped by its length: the first 0xFFD9 is not the end.
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG SOI marker")
    pos = 2
    while True:
        here = _MARKER_HERE.match(data, pos)
        if not here:  # bytes that are not a marker where one must be, or the end
            raise ValueError(f"no JPEG marker at offset {pos}")
        code, pos = here[1][0], here.end()
        if code == _EOI:
            return pos
        if code == _TEM or 0xD0 <= code <= 0xD7:
            continue  # standalone markers: no length
        if code == _SOI:
            raise ValueError(f"a second JPEG SOI marker at offset {pos}")
        if pos + 2 > len(data):
            break
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2:
            raise ValueError(f"JPEG segment length {length} at offset {pos}")
        pos += length
        if pos > len(data):
            break
        if code == _SOS:
            scan_end = _MARKER_IN_SCAN.search(data, pos)
            if not scan_end:
                break
            pos = scan_end.start()
    raise ValueError("the JPEG ends before its EOI marker")
