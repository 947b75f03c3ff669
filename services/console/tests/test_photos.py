"""Evidence photos (console.photos): real image files made with Pillow — a phone-like JPEG with its EXIF date,
GPS position and orientation, a transparent PNG, a WebP — kept byte for byte in a directory and in an S3 bucket
(an in-process S3 double that checks every request's signature), and the files that must be refused: text named
.jpg, a damaged JPEG, a GIF, an oversize file, decompression bombs.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from console.photos.evidence import (
    PhotoRef,
    format_reference,
    other_evidence,
    parse_reference,
    photo_references,
)
from console.photos.images import DEFAULT_MAX_BYTES, Limits, PhotoRefused, Position, check_photo
from console.photos.settings import PhotoSettings
from console.photos.store import LocalStore, PhotoNotFound, S3Store, store_from_url
from console.photos.upload import facts_key, load_facts, save_photo
from obstore.exceptions import PermissionDeniedError
from PIL import ExifTags, Image, ImageDraw
from pydantic import ValidationError

from .s3_double import S3Double, serving

ACCESS_KEY, SECRET_KEY = "pingan-test", "a-secret-only-this-test-knows"


def _picture(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """A picture with something in it: a red field with a black bar across its top."""
    image = Image.new(mode, size, (200, 30, 30, 255) if mode == "RGBA" else (200, 30, 30))
    ImageDraw.Draw(image).rectangle((0, 0, size[0], size[1] // 8), fill="black")
    return image


def _phone_jpeg() -> bytes:
    """A JPEG as a phone writes it: taken 2024-05-01 14:03:21 +08:00 at 30.27415 N 120.15515 E, 12.5 m up,
    held on its side (orientation 6: the stored 640×480 pixels show upright as 480×640)."""
    exif = Image.Exif()
    exif[ExifTags.Base.DateTime] = "2024:05:01 14:05:00"  # when it was last edited: DateTimeOriginal wins
    exif[ExifTags.Base.Orientation] = 6
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.DateTimeOriginal] = "2024:05:01 14:03:21"
    details[ExifTags.Base.OffsetTimeOriginal] = "+08:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps.update({ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (30.0, 16.0, 26.94),
                ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (120.0, 9.0, 18.54),
                ExifTags.GPS.GPSAltitudeRef: b"\x00", ExifTags.GPS.GPSAltitude: 12.5})
    out = io.BytesIO()
    _picture((640, 480)).save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def _saved(image: Image.Image, image_format: str) -> bytes:
    out = io.BytesIO()
    image.save(out, image_format)
    return out.getvalue()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """The uploads, as files on disk under the names a browser would send."""
    made = {
        "IMG_0001.jpg": _phone_jpeg(),
        "scan.png": _saved(_picture((400, 300), "RGBA"), "PNG"),
        "photo.webp": _saved(_picture((300, 200)), "WEBP"),
        "not-a-photo.jpg": "这不是照片 (this is not a photo)\n".encode(),
        "animation.gif": _saved(_picture((50, 50)).convert("P"), "GIF"),
    }
    made["cut-off.jpg"] = made["IMG_0001.jpg"][: len(made["IMG_0001.jpg"]) * 2 // 3]
    paths = {}
    for name, data in made.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(data)
    return paths


def _exif_of(data: bytes) -> tuple[str, dict[int, object]]:
    exif = Image.open(io.BytesIO(data)).getexif()
    return exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal], dict(exif.get_ifd(ExifTags.IFD.GPSInfo))


# --- what a photo is ---------------------------------------------------------------------------------------

def test_a_phone_jpeg_is_kept_unchanged_with_its_date_and_place_read_and_an_upright_thumbnail(
        files: dict[str, Path]) -> None:
    data = files["IMG_0001.jpg"].read_bytes()
    checked = check_photo(data)
    facts = checked.facts
    assert checked.original == data  # the EXIF inside is the evidence: nothing re-encoded
    assert (facts.extension, facts.content_type, facts.width, facts.height) == ("jpg", "image/jpeg", 640, 480)
    assert facts.key == f"photos/{facts.sha256}.jpg" and facts.thumbnail_key == f"thumbs/{facts.sha256}.jpg"
    assert facts.taken_at == datetime(2024, 5, 1, 14, 3, 21, tzinfo=timezone(timedelta(hours=8)))
    assert facts.position == Position(latitude=30.27415, longitude=120.15515, altitude=12.5)
    assert facts.caption() == "拍摄于 2024-05-01 14:03 · 位置 北纬 30.27415° 东经 120.15515°"
    assert facts.caption("en") == "taken 2024-05-01 14:03 · at 30.27415°N 120.15515°E"

    thumbnail = Image.open(io.BytesIO(checked.thumbnail))
    assert thumbnail.format == "JPEG"
    assert thumbnail.size == (240, 320), "turned upright, then at most 320 px"
    # upright, the black bar along the stored top edge is down the right-hand side
    rgb = thumbnail.convert("RGB")
    assert sum(rgb.getpixel((thumbnail.width - 5, thumbnail.height // 2))) < 150  # type: ignore[arg-type]
    assert sum(rgb.getpixel((5, thumbnail.height // 2))) > 150  # type: ignore[arg-type]


def test_a_transparent_png_and_a_webp_are_photos_too_without_exif(files: dict[str, Path]) -> None:
    png = check_photo(files["scan.png"].read_bytes())
    assert (png.facts.extension, png.facts.taken_at, png.facts.position, png.facts.caption()) == ("png", None, None, "")
    assert Image.open(io.BytesIO(png.thumbnail)).size == (320, 240)
    webp = check_photo(files["photo.webp"].read_bytes())
    assert (webp.facts.extension, webp.facts.content_type) == ("webp", "image/webp")
    assert Image.open(io.BytesIO(webp.thumbnail)).size == (300, 200), "a small photo is not enlarged"


@pytest.mark.parametrize(("name", "reason"), [
    ("not-a-photo.jpg", "只接受 JPEG、PNG 或 WebP 照片 (only JPEG, PNG or WebP photos are accepted)"),
    ("animation.gif", "只接受 JPEG、PNG 或 WebP 照片 (only JPEG, PNG or WebP photos are accepted)"),
    ("cut-off.jpg", "照片文件已损坏或不完整 (the photo file is damaged or incomplete)"),
])
def test_what_is_not_a_whole_jpeg_png_or_webp_is_refused_whatever_its_name(
        files: dict[str, Path], name: str, reason: str) -> None:
    with pytest.raises(PhotoRefused) as refused:
        check_photo(files[name].read_bytes(), field="photos")
    assert (refused.value.field, refused.value.reason, refused.value.status) == ("photos", reason, 422)
    assert refused.value.answer() == [{"field": "photos", "reason": reason}]


def test_an_empty_or_oversize_file_is_refused_before_it_is_opened(files: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(PhotoRefused, match=r"文件是空的 \(the file is empty\)"):
        check_photo(b"")
    oversize = tmp_path / "huge.jpg"  # a real photo with 10 MB of padding after it
    oversize.write_bytes(files["IMG_0001.jpg"].read_bytes() + b"\0" * DEFAULT_MAX_BYTES)
    with pytest.raises(PhotoRefused) as refused:
        check_photo(oversize.read_bytes())
    assert refused.value.status == 413
    assert refused.value.reason == "照片不能超过 10 MB (a photo may be at most 10 MB)"
    small_limit = Limits(max_bytes=4096)
    with pytest.raises(PhotoRefused, match=r"at most 0.00390625 MB|照片不能超过"):
        check_photo(files["IMG_0001.jpg"].read_bytes(), limits=small_limit)


def test_decompression_bombs_are_refused_from_their_header(tmp_path: Path) -> None:
    """A few kilobytes of PNG that would decode to hundreds of megabytes: past our limit (81 MP > 64 MP) and past
    Pillow's own (400 MP), neither is decoded."""
    for side in (9_000, 20_000):
        bomb = tmp_path / f"bomb-{side}.png"
        Image.new("1", (side, side)).save(bomb, "PNG")
        data = bomb.read_bytes()
        assert len(data) < 100_000
        with pytest.raises(PhotoRefused) as refused:
            check_photo(data)
        assert refused.value.reason == "照片像素过多，不能超过 64 百万像素 (the photo has more than 64 megapixels)"


def test_a_broken_exif_block_or_gps_leaves_the_photo_without_date_or_place() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.DateTime] = "yesterday"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps.update({ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (95.0, 0.0, 0.0),
                ExifTags.GPS.GPSLongitudeRef: "W", ExifTags.GPS.GPSLongitude: (10.0, 30.0, 0.0)})
    out = io.BytesIO()
    _picture((100, 100)).save(out, "JPEG", exif=exif)
    facts = check_photo(out.getvalue()).facts
    assert (facts.taken_at, facts.position) == (None, None)  # latitude 95° is nowhere


# --- stores ------------------------------------------------------------------------------------------------

async def test_a_photo_round_trips_through_a_directory_with_its_exif_and_is_kept_once(
        files: dict[str, Path], tmp_path: Path) -> None:
    data = files["IMG_0001.jpg"].read_bytes()
    store = LocalStore(tmp_path / "photo-store")
    facts = await save_photo(store, data)

    kept = await store.get(facts.key)
    assert kept == data
    assert _exif_of(kept) == _exif_of(data)
    assert _exif_of(kept)[1][ExifTags.GPS.GPSLatitudeRef] == "N"
    assert Image.open(io.BytesIO(await store.get(facts.thumbnail_key))).size == (240, 320)
    assert await load_facts(store, parse_reference(format_reference(facts))) == facts
    assert (tmp_path / "photo-store" / facts.key).read_bytes() == data  # a plain file an operator can copy

    stored = sorted(p.relative_to(tmp_path / "photo-store") for p in (tmp_path / "photo-store").rglob("*.*"))
    modified = [(tmp_path / "photo-store" / p).stat().st_mtime_ns for p in stored]
    assert await save_photo(store, files["IMG_0001.jpg"].read_bytes()) == facts  # the same photo again
    again = sorted(p.relative_to(tmp_path / "photo-store") for p in (tmp_path / "photo-store").rglob("*.*"))
    assert again == stored == sorted(Path(k) for k in (facts.key, facts.thumbnail_key, facts_key(facts.sha256)))
    assert [(tmp_path / "photo-store" / p).stat().st_mtime_ns for p in stored] == modified, "nothing rewritten"

    assert not await store.exists(f"photos/{'0' * 64}.jpg")
    with pytest.raises(PhotoNotFound):
        await store.get(f"photos/{'0' * 64}.jpg")
    with pytest.raises(PhotoNotFound):
        await load_facts(store, PhotoRef(facts.sha256, "png"))
    for key in ("../outside.jpg", "photos/../../x", "/etc/passwd", "Photos/A.JPG", ".hidden/x"):
        with pytest.raises(ValueError, match="not a photo store key"):
            await store.get(key)


async def test_a_photo_round_trips_through_an_s3_bucket_with_its_exif_and_content_type(
        files: dict[str, Path]) -> None:
    with serving(S3Double(bucket="pingan-photos", access_key=ACCESS_KEY, secret_key=SECRET_KEY)) as s3:
        store = store_from_url(f"s3://pingan-photos?endpoint={s3.endpoint}", access_key=ACCESS_KEY,
                               secret_key=SECRET_KEY)
        assert isinstance(store, S3Store)
        data = files["IMG_0001.jpg"].read_bytes()
        facts = await save_photo(store, data)

        assert s3.objects[facts.key] == (data, "image/jpeg")
        assert s3.objects[facts.thumbnail_key][1] == "image/jpeg"
        kept = await store.get(facts.key)
        assert kept == data and _exif_of(kept) == _exif_of(data)
        assert await load_facts(store, parse_reference(format_reference(facts))) == facts
        assert ("PUT", f"/pingan-photos/{facts.key}") in s3.requests  # addressed by path, as MinIO is

        puts = sum(1 for method, _ in s3.requests if method == "PUT")
        await save_photo(store, data)
        assert sum(1 for method, _ in s3.requests if method == "PUT") == puts == 3, "the second upload writes nothing"

        png = await save_photo(store, files["scan.png"].read_bytes())
        assert s3.objects[png.key][1] == "image/png"
        assert not await store.exists(f"thumbs/{'0' * 64}.jpg")
        with pytest.raises(PhotoNotFound):
            await store.get(f"thumbs/{'0' * 64}.jpg")

        impostor = S3Store(bucket="pingan-photos", endpoint=s3.endpoint, access_key=ACCESS_KEY,
                           secret_key="not-the-secret", allow_http=True)
        with pytest.raises(PermissionDeniedError, match="SignatureDoesNotMatch"):
            await impostor.get(facts.key)
        assert "not-the-secret" not in repr(impostor) and SECRET_KEY not in repr(store)


# --- configuration -----------------------------------------------------------------------------------------

def test_settings_name_a_directory_by_default_and_a_minio_bucket_in_compose(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("CONSOLE_PHOTO_STORE", "CONSOLE_S3_ENDPOINT", "CONSOLE_S3_BUCKET", "CONSOLE_S3_ACCESS_KEY",
                 "CONSOLE_S3_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # the default directory is relative to where the console runs
    default = PhotoSettings()
    store = default.photo_store_instance()
    assert isinstance(store, LocalStore) and store.directory == tmp_path / ".pingan" / "photos"
    assert default.photo_limits == Limits()

    monkeypatch.setenv("CONSOLE_PHOTO_STORE", "s3://")
    monkeypatch.setenv("CONSOLE_S3_BUCKET", "pingan-photos")
    monkeypatch.setenv("CONSOLE_S3_ENDPOINT", "http://minio:9000")
    monkeypatch.setenv("CONSOLE_S3_ACCESS_KEY", "pingan")
    monkeypatch.setenv("CONSOLE_S3_SECRET_KEY", "pingan-minio-dev")
    compose = PhotoSettings()
    s3 = compose.photo_store_instance()
    assert isinstance(s3, S3Store)
    assert (s3.bucket, s3.endpoint, s3.region) == ("pingan-photos", "http://minio:9000", "us-east-1")
    assert "pingan-minio-dev" not in repr(compose)

    monkeypatch.setenv("CONSOLE_PHOTO_STORE", "s3://other-bucket")
    with pytest.raises(ValidationError, match="different buckets"):
        PhotoSettings()
    monkeypatch.delenv("CONSOLE_S3_BUCKET")
    monkeypatch.delenv("CONSOLE_S3_SECRET_KEY")
    with pytest.raises(ValidationError, match="go together"):
        PhotoSettings()
    monkeypatch.setenv("CONSOLE_PHOTO_STORE", "ftp://photos")
    with pytest.raises(ValidationError, match="file:<directory> or s3://<bucket>"):
        PhotoSettings()


@pytest.mark.parametrize("url", ["ftp://x", "file://otherhost/photos", "s3://bucket/sub?endpoint=http://m:9000",
                                 "s3://bucket?endpoint=minio:9000", "s3://bucket?secret=x", "s3://"])
def test_a_store_url_that_says_something_else_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        store_from_url(url)


# --- references in the services' evidence lists ------------------------------------------------------------

def test_evidence_references_name_photos_by_content_and_leave_other_evidence_alone(files: dict[str, Path]) -> None:
    facts = check_photo(files["IMG_0001.jpg"].read_bytes()).facts
    reference = format_reference(facts)
    assert reference == f"photo:{facts.sha256}.jpg"
    ref = parse_reference(reference)
    assert (ref.key, ref.thumbnail_key, ref.content_type) == (facts.key, facts.thumbnail_key, "image/jpeg")
    other = f"photo:{'a' * 64}.png"
    evidence = ["整改通知书 2024-017 号", reference, other, reference, "photo:see attachment"]
    assert photo_references(evidence) == [ref, PhotoRef("a" * 64, "png")]
    assert other_evidence(evidence) == ["整改通知书 2024-017 号", "photo:see attachment"]
    for text in (f"photo:{'A' * 64}.jpg", f"photo:{'a' * 63}.jpg", f"photo:{'a' * 64}.gif",
                 f"photo:{'a' * 64}.jpg ", f"Photo:{'a' * 64}.jpg", f"photo:{'a' * 64}"):
        with pytest.raises(ValueError):
            parse_reference(text)
