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
