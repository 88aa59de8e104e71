"""Logo uploads: real images are re-encoded and stored by content hash; anything else is refused."""

import contextlib
import hashlib
import io
import random
import struct
import zipfile
import zlib

import pytest
from helpers import logo_names, query
from PIL import Image, PngImagePlugin

from homerack.image_end import image_end
from homerack.uploads import MAX_ZERO_PADDING


def png(color=(200, 30, 30), size=(64, 32), text: str | None = None) -> bytes:
    out = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    if text:
        info.add_text("Comment", text)
    Image.new("RGB", size, color).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (40, 40), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {2: (52.0, 31.0, 0.0)}  # GPS info
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (30, 30), (0, 200, 0, 128)).save(out, "WEBP")
    return out.getvalue()


def _noise(fmt: str, size=(96, 64), **options) -> bytes:
    """A photo-like image: noise makes stuffed 0xFF00 bytes in JPEG scans and long chunks."""
    out = io.BytesIO()
    Image.effect_noise(size, 64).convert("RGB").save(out, fmt, **options)
    return out.getvalue()


def _progressive_jpeg() -> bytes:
    data = _noise("JPEG", progressive=True)
    assert data.count(b"\xff\xda") > 1  # several scans, each ended by the next marker
    return data


def _thumbnail_exif() -> bytes:
    """EXIF whose IFD1 holds a whole JPEG thumbnail (SOI ... EOI): the first 0xFFD9 in
    the file is the thumbnail's, not the image's end."""
    thumb = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(thumb, "JPEG")

    def entry(tag: int, value: int) -> bytes:  # one LONG
        return struct.pack(">HHII", tag, 4, 1, value)

    ifd1_at = 8 + 2 + 12 + 4
    thumb_at = ifd1_at + 2 + 2 * 12 + 4
    tiff = (
        b"MM\0*"
        + struct.pack(">I", 8)
        + struct.pack(">H", 1)
        + struct.pack(">HHIHH", 0x0112, 3, 1, 1, 0)  # Orientation
        + struct.pack(">I", ifd1_at)
        + struct.pack(">H", 2)
        + entry(0x0201, thumb_at)
        + entry(0x0202, len(thumb.getvalue()))
        + struct.pack(">I", 0)
        + thumb.getvalue()
    )
    return b"Exif\0\0" + tiff


def _jpeg_with_restarts_and_thumbnail() -> bytes:
    data = _noise("JPEG", restart_marker_blocks=1, exif=_thumbnail_exif())
    assert b"\xff\xd0" in data and data.count(b"\xff\xd9") == 2
    return data


def _webp_with_odd_chunk() -> bytes:
    """A lossless WebP whose VP8L chunk has an odd size, so RIFF pads it with a byte."""
    for side in range(8, 64):
        data = _noise("WEBP", (side, side), lossless=True)
        if data[12:16] == b"VP8L" and int.from_bytes(data[16:20], "little") % 2:
            return data
    raise AssertionError("no odd-sized VP8L chunk")


@pytest.fixture
async def brand(api):
    return await api.create("/api/brands", {"name": "Ubiquiti"})


def stored_bytes(config, url: str) -> bytes:
    """The bytes the database holds for the logo at ``url``."""
    rows = query(
        config.database_url, f"SELECT data FROM logo WHERE name = '{url.rsplit('/', 1)[1]}'"
    )
    assert len(rows) == 1, (url, rows)
    return bytes(rows[0][0])


async def _put(api, brand_id, data: bytes, content_type="image/png", **kw):
    return await api.put(
        f"/api/brands/{brand_id}/logo", body=data, headers={"Content-Type": content_type}, **kw
    )


@pytest.mark.parametrize(
    ("make", "ext", "fmt"),
    [
        (lambda: png(text="created by a secret tool"), "png", "PNG"),
        (lambda: _noise("PNG", optimize=True), "png", "PNG"),
        (jpeg_with_exif, "jpg", "JPEG"),
        (_progressive_jpeg, "jpg", "JPEG"),
        (_jpeg_with_restarts_and_thumbnail, "jpg", "JPEG"),
        (lambda: jpeg_with_exif() + bytes(MAX_ZERO_PADDING), "jpg", "JPEG"),  # tolerated padding
        (webp, "webp", "WEBP"),
        (lambda: _noise("WEBP", quality=80), "webp", "WEBP"),
        (lambda: _noise("WEBP", lossless=True), "webp", "WEBP"),
        (_webp_with_odd_chunk, "webp", "WEBP"),
    ],
)
async def test_images_are_reencoded_and_stored_by_hash(api, config, brand, make, ext, fmt):
    original = make()
    result = await _put(api, brand["id"], original, content_type="application/octet-stream")
    assert result.status_code == 200, result.text
    url = result.json["logo_url"]
    assert url.startswith("/uploads/logos/") and url.endswith(f".{ext}")
    stored = stored_bytes(config, url)
    assert url.rsplit("/", 1)[1] == f"{hashlib.sha256(stored).hexdigest()}.{ext}"
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == fmt
        assert not image.getexif()
        assert "Comment" not in image.info
    assert b"SecretCam" not in stored and b"secret tool" not in stored
    assert (await api.get(f"/api/brands/{brand['id']}")).json["logo_url"] == url
    served = await api.get(url, role=None)
    assert served.status_code == 200 and served.content == stored
    assert (
        served.headers["content-type"]
        == {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}[ext]
    )


async def test_logo_for_missing_brand_is_404(api):
    assert (await _put(api, 999, png())).status_code == 404


async def test_viewer_cannot_upload(api, brand):
    assert (await _put(api, brand["id"], png(), role="viewer")).status_code == 403


async def test_replacing_and_removing_logos_cleans_unused_rows(api, config, brand):
    other = await api.create("/api/brands", {"name": "Other"})
    first = (await _put(api, brand["id"], png((1, 2, 3)))).json["logo_url"]
    await _put(api, other["id"], png((1, 2, 3)))  # same image: same row, shared
    rows = lambda: logo_names(config.database_url)  # noqa: E731
    assert rows() == [first.rsplit("/", 1)[1]]
    second = (await _put(api, brand["id"], png((9, 9, 9)))).json["logo_url"]
    assert second != first and len(rows()) == 2  # first is still used by "Other"
    assert (await api.get(first, role=None)).status_code == 200
    removed = await api.delete(f"/api/brands/{other['id']}/logo")
    assert removed.status_code == 200 and removed.json["logo_url"] is None
    assert rows() == [second.rsplit("/", 1)[1]]
    assert (await api.get(first, role=None)).status_code == 404
    assert (await api.delete(f"/api/brands/{brand['id']}")).status_code == 204
    assert rows() == []
    assert (await api.get(second, role=None)).status_code == 404


# -- metadata: nothing of the uploader's survives the re-encode, byte for byte ---


def _marker(where: str) -> bytes:
    return f"<script>alert('{where}')</script>".encode()


def _exif(where: str) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = _marker(where + "-exif").decode()  # Make
    exif[0x010E] = _marker(where + "-exif-description").decode()  # ImageDescription
    exif[0x0112] = 6  # Orientation: rotated, so the EXIF is read and rewritten on the way
    return exif.tobytes()


def _xmp(where: str) -> bytes:
    return (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
        b'02/22-rdf-syntax-ns#"><rdf:Description>'
        + _marker(where + "-xmp")
        + b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )


def _icc(where: str) -> bytes:
    # Decoders hand the profile over as bytes without checking it: any bytes ride along.
    return _marker(where + "-icc") * 8


def hostile_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 40), (10, 120, 200)).save(
        out,
        "JPEG",
        comment=_marker("jpeg-comment"),
        exif=_exif("jpeg"),
        icc_profile=_icc("jpeg"),
        xmp=_xmp("jpeg"),
    )
    return out.getvalue()


def hostile_png() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", _marker("png-text").decode())
    info.add_itxt("Description", _marker("png-itxt").decode(), zip=False)
    info.add_text("Software", _marker("png-ztxt").decode(), zip=True)
    out = io.BytesIO()
    Image.new("RGBA", (40, 40), (10, 120, 200, 100)).save(
        out, "PNG", pnginfo=info, exif=_exif("png"), icc_profile=_icc("png")
    )
    return out.getvalue()


def hostile_webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 40), (10, 120, 200)).save(
        out, "WEBP", exif=_exif("webp"), icc_profile=_icc("webp"), xmp=_xmp("webp")
    )
    return out.getvalue()


# Containers of metadata in each format, by their markers in the file.
_CARRIERS = {
    "jpg": (b"\xff\xfe", b"Exif\x00\x00", b"ICC_PROFILE", b"http://ns.adobe.com/xap/1.0/"),
    "png": (b"tEXt", b"zTXt", b"iTXt", b"iCCP", b"eXIf"),
    "webp": (b"EXIF", b"ICCP", b"XMP "),
}


@pytest.mark.parametrize(
    ("make", "ext"), [(hostile_jpeg, "jpg"), (hostile_png, "png"), (hostile_webp, "webp")]
)
async def test_all_metadata_is_dropped_byte_for_byte(api, config, brand, make, ext):
    original = make()
    assert original.count(b"<script>") >= 2  # the attack is really in the upload
    result = await _put(api, brand["id"], original, content_type="application/octet-stream")
    assert result.status_code == 200, result.text
    stored = stored_bytes(config, result.json["logo_url"])
    assert b"<script>" not in stored and b"alert(" not in stored
    for carrier in _CARRIERS[ext]:
        assert carrier not in stored, carrier
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (40, 40)
        assert not image.getexif()
        assert not {"icc_profile", "exif", "xmp", "comment", "Comment"} & set(image.info)


async def test_exif_orientation_is_applied_before_it_is_dropped(api, config, brand):
    # A phone photo stored sideways with "rotate 90" in its EXIF must not come out sideways.
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    out = io.BytesIO()
    Image.new("RGB", (60, 20), (200, 0, 0)).save(out, "JPEG", exif=exif.tobytes())
    result = await _put(api, brand["id"], out.getvalue(), content_type="image/jpeg")
    stored = stored_bytes(config, result.json["logo_url"])
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (20, 60)


# -- hostile uploads: refused with a clear 4xx before anything is written ---------


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` (a decompression bomb's
    header: decoding it would need width * height * 3 bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0" * 4096))
        + chunk(b"IEND", b"")
    )


def _jpeg_declaring(width: int, height: int) -> bytes:
    data = bytearray(jpeg_with_exif())
    sof = data.index(b"\xff\xc0")  # baseline frame header: length, precision, height, width
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _webp_declaring(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (30, 30), (0, 200, 0)).save(out, "WEBP", lossless=True)
    data = bytearray(out.getvalue())
    at = data.index(b"VP8L") + 9  # after the signature byte: 14 bits each of w-1, h-1
    bits = int.from_bytes(data[at : at + 4], "little") & ~((1 << 28) - 1)
    data[at : at + 4] = (bits | (width - 1) | (height - 1) << 14).to_bytes(4, "little")
    return bytes(data)


def _animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (20, 20), c) for c in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def _still_gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (8, 8)).save(out, "GIF")
    return out.getvalue()


def _truncated(data: bytes) -> bytes:
    return data[: len(data) * 2 // 3]


def _big_photo(fmt: str) -> bytes:
    # Noise, so that the truncated part holds pixel data rather than padding.
    out = io.BytesIO()
    Image.effect_noise((200, 200), 64).convert("RGB").save(out, fmt)
    return out.getvalue()


def _zip(name: str, text: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, text)
    return out.getvalue()


PHP = b"<?php system($_GET['c']); ?>"


# Polyglots: a valid image with another file appended after its end.
APPENDED = {
    "html": b"<html><script>alert(1)</script></html>",
    "zip": _zip("shell.php", PHP),
    "php": PHP,
    "zeros then html": bytes(MAX_ZERO_PADDING) + b"<script>alert(1)</script>",
    "too many zeros": bytes(MAX_ZERO_PADDING + 1),
}
POLYGLOTS = {
    f"{label} + {kind}": (
        image + tail,
        f"carries {len(tail):,} bytes after the end of the "
        f"{name} image (a polyglot?); upload the image alone",
    )
    for label, name, image in (
        ("png", "PNG", png()),
        ("jpeg", "JPEG", jpeg_with_exif()),
        ("webp", "WebP", webp()),
        ("jpeg with a thumbnail", "JPEG", _jpeg_with_restarts_and_thumbnail()),
        ("progressive jpeg", "JPEG", _progressive_jpeg()),
    )
    for kind, tail in APPENDED.items()
}
TOO_LARGE = "larger size than a logo may have"
HOSTILE = {
    **POLYGLOTS,
    "png + 1 byte": (png() + b"<", "carries 1 byte after the end of the PNG image"),
    "png bomb 30000x30000": (_png_declaring(30000, 30000), TOO_LARGE),
    "png just over the cap": (_png_declaring(4097, 4097), "is 4097x4097 px; at most 4096"),
    "png 4096x4097": (_png_declaring(4096, 4097), "at most 4096 px per side"),
    "jpeg bomb 60000x60000": (_jpeg_declaring(60000, 60000), TOO_LARGE),
    "jpeg 5000x5000": (_jpeg_declaring(5000, 5000), "is 5000x5000 px; at most 4096"),
    "webp bomb 16383x16383": (_webp_declaring(16383, 16383), TOO_LARGE),
    "truncated png": (_truncated(_big_photo("PNG")), "damaged or truncated"),
    "truncated jpeg": (_truncated(_big_photo("JPEG")), "damaged or truncated"),
    "truncated webp": (_truncated(_big_photo("WEBP")), "damaged or truncated"),
    "animated png": (_animated("PNG"), "animated images are not accepted"),
    "animated webp": (_animated("WEBP"), "animated images are not accepted"),
    "png 5000x10": (png(size=(5000, 10)), "is 5000x10 px; at most 4096 px per side"),
    "animated gif": (_animated("GIF"), "unsupported image format GIF"),
    "still gif": (_still_gif(), "unsupported image format GIF"),
    "svg": (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>alert(1)</script></svg>",
        "not a PNG, JPEG or WebP",
    ),
    "pdf": (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n",
        "not a PNG, JPEG or WebP",
    ),
    "html": (
        b"<!doctype html><html><body onload=alert(1)></body></html>",
        "not a PNG, JPEG or WebP",
    ),
    "png signature then html": (
        b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script>",
        "not a PNG, JPEG or WebP",
    ),
    "empty": (b"", "empty"),
}


@pytest.fixture
async def branded(api, config, brand) -> dict:
    """The brand with a logo already: a refused upload must leave it as it was."""
    url = (await _put(api, brand["id"], png((5, 5, 5)))).json["logo_url"]
    return {"id": brand["id"], "url": url, "rows": logo_names(config.database_url)}


async def _unchanged(api, config, branded) -> None:
    assert (await api.get(f"/api/brands/{branded['id']}")).json["logo_url"] == branded["url"]
    assert logo_names(config.database_url) == branded["rows"]  # no new row


@pytest.mark.parametrize("case", HOSTILE)
async def test_hostile_uploads_are_422_with_a_reason_and_write_nothing(api, config, branded, case):
    data, words = HOSTILE[case]
    result = await _put(api, branded["id"], data, content_type="image/png")
    assert result.status_code == 422, (case, result.status_code, result.text)
    assert words in result.json["description"], result.json
    await _unchanged(api, config, branded)


async def test_huge_body_is_413_and_writes_nothing(api, config, branded):
    result = await _put(api, branded["id"], b"\x89PNG" + b"\0" * (20 * 1024 * 1024))
    assert result.status_code == 413
    assert str(config.max_logo_bytes) in result.json["description"]
    await _unchanged(api, config, branded)


def _png_with_chunk_payload() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", PHP.decode())
    out = io.BytesIO()
    Image.new("RGB", (24, 24), (9, 9, 9)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


@pytest.mark.parametrize(
    ("case", "data", "payloads"),
    [
        ("php in a png text chunk", _png_with_chunk_payload(), (b"<?php", b"system(")),
        (
            "zip in a jpeg comment",
            hostile_jpeg()[:2]
            + b"\xff\xfe"
            + struct.pack(">H", 2 + len(_zip("shell.php", PHP)))
            + _zip("shell.php", PHP)
            + hostile_jpeg()[2:],
            (b"PK\x03\x04", b"shell.php", b"<?php", b"<script>"),
        ),
    ],
)
async def test_payloads_inside_metadata_are_stored_as_the_picture_alone(
    api, config, brand, case, data, payloads
):
    # Inside the image, not after it: accepted (refusing every text chunk or comment
    # would refuse ordinary logos), and the re-encode drops what rode along.
    result = await _put(api, brand["id"], data, content_type="image/png")
    assert result.status_code == 200, (case, result.text)
    stored = stored_bytes(config, result.json["logo_url"])
    for payload in payloads:
        assert payload in data and payload not in stored, (case, payload)
    with Image.open(io.BytesIO(stored)) as image:
        image.load()


# -- the end finder alone: every format, truncated anywhere, corrupted anyhow ----

ORDINARY = {
    "PNG": (png(), _noise("PNG", optimize=True), hostile_png()),
    "JPEG": (
        jpeg_with_exif(),
        _progressive_jpeg(),
        _jpeg_with_restarts_and_thumbnail(),
        hostile_jpeg(),
    ),
    "WEBP": (webp(), _noise("WEBP", lossless=True), _webp_with_odd_chunk(), hostile_webp()),
}


@pytest.mark.parametrize("fmt", ORDINARY)
def test_image_end_is_the_file_end_and_every_truncation_is_refused(fmt):
    for data in ORDINARY[fmt]:
        assert image_end(data, fmt) == len(data)
        assert image_end(data + PHP, fmt) == len(data)
        for cut in range(len(data)):  # every prefix: a ValueError, no other error, no loop
            with pytest.raises(ValueError):
                image_end(data[:cut], fmt)


@pytest.mark.parametrize("fmt", ORDINARY)
def test_image_end_survives_corrupted_bytes(fmt):
    # Random bytes overwritten anywhere: an end within the data, or ValueError.
    rng = random.Random(fmt)
    for data in ORDINARY[fmt]:
        for _ in range(300):
            broken = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                byte = rng.choice((0, 0xFF, 0xD9, rng.randrange(256)))
                broken[rng.randrange(len(broken))] = byte
            with contextlib.suppress(ValueError):
                assert 0 < image_end(bytes(broken), fmt) <= len(broken)


@pytest.mark.parametrize(
    ("fmt", "data", "end"),
    [
        # A WebP whose RIFF size is odd: one pad byte follows, and may be missing at the end.
        ("WEBP", b"RIFF\x05\0\0\0WEBPx\0" + PHP, 14),
        ("WEBP", b"RIFF\x05\0\0\0WEBPx", 13),
        # JPEG fill bytes: 0xFF may repeat before a marker, inside and after a scan.
        ("JPEG", b"\xff\xd8\xff\xff\xff\xda\0\x02\x12\xff\0\xff\xd3\x34\xff\xff\xd9<", 17),
    ],
)
def test_image_end_on_handmade_structures(fmt, data, end):
    assert image_end(data, fmt) == end


@pytest.mark.parametrize(
    ("fmt", "data"),
    [
        ("PNG", b"\x89PNG\r\n\x1a\n\xff\xff\xff\xffIDAT"),  # a chunk longer than the file
        ("JPEG", b"\xff\xd8\xff\xe0\0\x01\xff\xd9"),  # a segment length below 2
        ("JPEG", b"\xff\xd8\xff\xd8\xff\xd9"),  # a second SOI
        ("JPEG", b"\xff\xd8junk\xff\xd9"),  # no marker where one must be
        ("JPEG", b"\xff\xd8" + b"\xff" * 10_000),  # fill bytes to the end
        ("WEBP", b"RIFF\x02\0\0\0WEBP"),  # a RIFF size too small for its own "WEBP"
        ("WEBP", b"RIFF\xff\xff\xff\xffWEBP"),  # longer than the file
    ],
)
def test_image_end_refuses_broken_structures(fmt, data):
    with pytest.raises(ValueError):
        image_end(data, fmt)
