"""Logo uploads: real images are re-encoded and stored by content hash; anything else is refused."""

import hashlib
import io

import pytest
from PIL import Image, PngImagePlugin


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
    exif[0x010F] = "SecretCam"      # Make
    exif[0x8825] = {2: (52.0, 31.0, 0.0)}  # GPS info
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (30, 30), (0, 200, 0, 128)).save(out, "WEBP")
    return out.getvalue()


@pytest.fixture
async def brand(api):
    return await api.create("/api/brands", {"name": "Ubiquiti"})


async def _put(api, brand_id, data: bytes, content_type="image/png", **kw):
    return await api.put(f"/api/brands/{brand_id}/logo", body=data,
                         headers={"Content-Type": content_type}, **kw)


@pytest.mark.parametrize(("make", "ext", "fmt"), [
    (lambda: png(text="created by a secret tool"), "png", "PNG"),
    (jpeg_with_exif, "jpg", "JPEG"),
    (webp, "webp", "WEBP"),
])
async def test_images_are_reencoded_and_stored_by_hash(api, config, brand, make, ext, fmt):
    original = make()
    result = await _put(api, brand["id"], original, content_type="application/octet-stream")
    assert result.status_code == 200, result.text
    url = result.json["logo_url"]
    assert url.startswith("/uploads/logos/") and url.endswith(f".{ext}")
    stored = (config.upload_dir / "logos" / url.rsplit("/", 1)[1]).read_bytes()
    assert url.rsplit("/", 1)[1] == f"{hashlib.sha256(stored).hexdigest()}.{ext}"
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == fmt
        assert not image.getexif()
        assert "Comment" not in image.info
    assert b"SecretCam" not in stored and b"secret tool" not in stored
    assert (await api.get(f"/api/brands/{brand['id']}")).json["logo_url"] == url
    served = await api.get(url, role=None)
    assert served.status_code == 200 and served.content == stored


async def test_polyglot_tail_is_dropped(api, config, brand):
    evil = png() + b"<html><script>alert(1)</script></html>"
    result = await _put(api, brand["id"], evil)
    assert result.status_code == 200
    stored = (config.upload_dir / "logos" / result.json["logo_url"].rsplit("/", 1)[1])
    assert b"<script>" not in stored.read_bytes()


@pytest.mark.parametrize(("data", "words"), [
    (b"<html><body>not an image</body></html>", "not a PNG, JPEG or WebP"),
    (png()[:60], "damaged or truncated"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
     "not a PNG, JPEG or WebP"),
    (b"", "empty"),
])
async def test_forged_uploads_are_422_and_store_nothing(api, config, brand, data, words):
    result = await _put(api, brand["id"], data)
    assert result.status_code == 422
    assert words in result.json["description"]
    assert (await api.get(f"/api/brands/{brand['id']}")).json["logo_url"] is None
    logos = config.upload_dir / "logos"
    assert not logos.exists() or not any(logos.iterdir())


async def test_gif_is_refused_by_format(api, brand):
    out = io.BytesIO()
    Image.new("P", (8, 8)).save(out, "GIF")
    result = await _put(api, brand["id"], out.getvalue(), content_type="image/gif")
    assert result.status_code == 422 and "GIF" in result.json["description"]


async def test_oversized_body_is_413(api, config, brand):
    result = await _put(api, brand["id"], b"\x89PNG" + b"\0" * (20 * 1024 * 1024))
    assert result.status_code == 413
    assert str(config.max_logo_bytes) in result.json["description"]


async def test_huge_dimensions_are_refused(api, brand):
    result = await _put(api, brand["id"], png(size=(5000, 10)))
    assert result.status_code == 422 and "4096" in result.json["description"]


async def test_logo_for_missing_brand_is_404(api):
    assert (await _put(api, 999, png())).status_code == 404


async def test_viewer_cannot_upload(api, brand):
    assert (await _put(api, brand["id"], png(), role="viewer")).status_code == 403


async def test_replacing_and_removing_logos_cleans_unused_files(api, config, brand):
    other = await api.create("/api/brands", {"name": "Other"})
    first = (await _put(api, brand["id"], png((1, 2, 3)))).json["logo_url"]
    await _put(api, other["id"], png((1, 2, 3)))  # same image: same file, shared
    files = lambda: sorted(p.name for p in (config.upload_dir / "logos").glob("*"))  # noqa: E731
    assert len(files()) == 1
    second = (await _put(api, brand["id"], png((9, 9, 9)))).json["logo_url"]
    assert second != first and len(files()) == 2  # first is still used by "Other"
    removed = await api.delete(f"/api/brands/{other['id']}/logo")
    assert removed.status_code == 200 and removed.json["logo_url"] is None
    assert files() == [second.rsplit("/", 1)[1]]
    assert (await api.delete(f"/api/brands/{brand['id']}")).status_code == 204
    assert files() == []


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
    return (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
            b'02/22-rdf-syntax-ns#"><rdf:Description>' + _marker(where + "-xmp")
            + b"</rdf:Description></rdf:RDF></x:xmpmeta>")


def _icc(where: str) -> bytes:
    # Decoders hand the profile over as bytes without checking it: any bytes ride along.
    return _marker(where + "-icc") * 8


def hostile_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 40), (10, 120, 200)).save(
        out, "JPEG", comment=_marker("jpeg-comment"), exif=_exif("jpeg"), icc_profile=_icc("jpeg"),
        xmp=_xmp("jpeg"))
    return out.getvalue()


def hostile_png() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", _marker("png-text").decode())
    info.add_itxt("Description", _marker("png-itxt").decode(), zip=False)
    info.add_text("Software", _marker("png-ztxt").decode(), zip=True)
    out = io.BytesIO()
    Image.new("RGBA", (40, 40), (10, 120, 200, 100)).save(
        out, "PNG", pnginfo=info, exif=_exif("png"), icc_profile=_icc("png"))
    return out.getvalue()


def hostile_webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 40), (10, 120, 200)).save(
        out, "WEBP", exif=_exif("webp"), icc_profile=_icc("webp"), xmp=_xmp("webp"))
    return out.getvalue()


# Containers of metadata in each format, by their markers in the file.
_CARRIERS = {
    "jpg": (b"\xff\xfe", b"Exif\x00\x00", b"ICC_PROFILE", b"http://ns.adobe.com/xap/1.0/"),
    "png": (b"tEXt", b"zTXt", b"iTXt", b"iCCP", b"eXIf"),
    "webp": (b"EXIF", b"ICCP", b"XMP "),
}


@pytest.mark.parametrize(("make", "ext"), [(hostile_jpeg, "jpg"), (hostile_png, "png"),
                                           (hostile_webp, "webp")])
async def test_all_metadata_is_dropped_byte_for_byte(api, config, brand, make, ext):
    original = make()
    assert original.count(b"<script>") >= 2  # the attack is really in the upload
    result = await _put(api, brand["id"], original, content_type="application/octet-stream")
    assert result.status_code == 200, result.text
    stored = (config.upload_dir / "logos" / result.json["logo_url"].rsplit("/", 1)[1]
              ).read_bytes()
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
    stored = (config.upload_dir / "logos" / result.json["logo_url"].rsplit("/", 1)[1])
    with Image.open(stored) as image:
        assert image.size == (20, 60)
