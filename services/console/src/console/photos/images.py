"""What an uploaded photo is, judged by its bytes alone (no I/O): a JPEG, PNG or WebP within the size and pixel
limits, its content address, what its EXIF says of when and where it was taken, and its thumbnail.

The file name and the browser's content type are not consulted: both are the uploader's to choose. The original
bytes are what gets stored, unchanged, because the EXIF inside them is the evidence of where and when; only the
thumbnail is made anew (orientation applied, no EXIF).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from pingan_shared.refused import Refused

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# 64 million pixels: above every phone camera's normal mode (50 MP), far below what a few kilobytes of compressed
# zeros can claim to be
DEFAULT_MAX_PIXELS = 64_000_000
THUMBNAIL_PIXELS = 320

# Pillow's format name -> (file extension, content type): the only three a browser shows everywhere
FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("jpg", "image/jpeg"),
    "MPO": ("jpg", "image/jpeg"),  # a JPEG with more pictures after the first (some phones' depth or burst shots)
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
}
CONTENT_TYPES = {extension: content_type for extension, content_type in FORMATS.values()}
# the decoders Pillow may try on an upload (its JPEG decoder is the one that recognises MPO); no other is run
DECODERS = ["JPEG", "PNG", "WEBP"]


class PhotoRefused(Refused):
    """A photo that will not be stored: the form field it came in and why, Chinese first."""

    def __init__(self, field: str, reason: str, status: int = 422) -> None:
        super().__init__(status, reason, field)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Position:
    latitude: float  # degrees, north positive
    longitude: float  # degrees, east positive
    altitude: float | None = None  # metres above sea level


@dataclass(frozen=True)
class PhotoFacts:
    """What the page shows beside a photo, and where its objects are."""

    sha256: str
    extension: str
    width: int
    height: int
    size: int
    taken_at: datetime | None  # the camera's clock: naive unless the EXIF gave its offset
    position: Position | None

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.extension]

    @property
    def key(self) -> str:
        return original_key(self.sha256, self.extension)

    @property
    def thumbnail_key(self) -> str:
        return thumbnail_key(self.sha256)

    def caption(self, language: Literal["zh", "en"] = "zh") -> str:
        """``拍摄于 2024-05-01 14:03 · 位置 北纬 30.27415° 东经 120.15515°``; empty when the EXIF said nothing."""
        parts = []
        if self.taken_at is not None:
            moment = self.taken_at.strftime("%Y-%m-%d %H:%M")
            parts.append(f"拍摄于 {moment}" if language == "zh" else f"taken {moment}")
        if self.position is not None:
            lat, lon = self.position.latitude, self.position.longitude
            if language == "zh":
                parts.append(f"位置 {'北纬' if lat >= 0 else '南纬'} {abs(lat):.5f}° "
                             f"{'东经' if lon >= 0 else '西经'} {abs(lon):.5f}°")
            else:
                parts.append(f"at {abs(lat):.5f}°{'N' if lat >= 0 else 'S'} {abs(lon):.5f}°{'E' if lon >= 0 else 'W'}")
        return " · ".join(parts)


@dataclass(frozen=True)
class CheckedPhoto:
    facts: PhotoFacts
    original: bytes  # exactly as uploaded
    thumbnail: bytes  # JPEG, at most THUMBNAIL_PIXELS on its longer side


def original_key(sha256: str, extension: str) -> str:
    return f"photos/{sha256}.{extension}"


def thumbnail_key(sha256: str) -> str:
    return f"thumbs/{sha256}.jpg"


def check_photo(data: bytes, *, field: str = "photo", limits: Limits = DEFAULT_LIMITS) -> CheckedPhoto:
    """The photo, its facts and its thumbnail, or ``PhotoRefused`` naming ``field``."""
    if not data:
        raise PhotoRefused(field, "文件是空的 (the file is empty)")
    if len(data) > limits.max_bytes:
        megabytes = limits.max_bytes / (1024 * 1024)
        raise PhotoRefused(field, f"照片不能超过 {megabytes:g} MB (a photo may be at most {megabytes:g} MB)", 413)
    image = _open(data, field, limits)
    try:
        image.verify()  # the structure and checksums, before any pixel is decoded
    except Exception as error:
        raise _damaged(field) from error
    image = _open(data, field, limits)  # verify() leaves the image unusable: open it again to decode
    extension, _ = FORMATS[str(image.format)]
    exif = _exif(image)
    try:
        thumbnail = _thumbnail(image)
    except (OSError, ValueError, SyntaxError) as error:  # truncated or corrupt pixel data
        raise _damaged(field) from error
    facts = PhotoFacts(sha256=hashlib.sha256(data).hexdigest(), extension=extension, width=image.width,
                       height=image.height, size=len(data), taken_at=_taken_at(exif), position=_position(exif))
    return CheckedPhoto(facts=facts, original=data, thumbnail=thumbnail)


def _open(data: bytes, field: str, limits: Limits) -> Image.Image:
    not_an_image = PhotoRefused(field, "只接受 JPEG、PNG 或 WebP 照片 (only JPEG, PNG or WebP photos are accepted)")
    try:
        with warnings.catch_warnings():
            # Pillow warns past its own pixel limit and raises past twice it; ours is checked below, from the header
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=DECODERS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _too_many_pixels(field, limits) from error
    except UnidentifiedImageError as error:
        raise not_an_image from error
    except (OSError, ValueError, SyntaxError) as error:  # a known format's header, broken
        raise _damaged(field) from error
    if image.format not in FORMATS:
        raise not_an_image
    if image.width * image.height > limits.max_pixels:
        raise _too_many_pixels(field, limits)
    return image


def _too_many_pixels(field: str, limits: Limits) -> PhotoRefused:
    millions = limits.max_pixels / 1_000_000
    return PhotoRefused(field, f"照片像素过多，不能超过 {millions:g} 百万像素 "
                               f"(the photo has more than {millions:g} megapixels)")


def _damaged(field: str) -> PhotoRefused:
    return PhotoRefused(field, "照片文件已损坏或不完整 (the photo file is damaged or incomplete)")


def _thumbnail(image: Image.Image) -> bytes:
    # a JPEG can be decoded at 1/2, 1/4 or 1/8 scale: far less work and memory for a 320-pixel picture
    image.draft("RGB", (THUMBNAIL_PIXELS * 2, THUMBNAIL_PIXELS * 2))
    upright = ImageOps.exif_transpose(image)  # how the camera was held, as a viewer would show it
    if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info):
        rgba = upright.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))  # transparency on white, as the page shows it
        flat.paste(rgba, mask=rgba.getchannel("A"))
        upright = flat
    upright = upright.convert("RGB")
    upright.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
    out = io.BytesIO()
    upright.save(out, format="JPEG", quality=82, optimize=True)
    return out.getvalue()


# --- EXIF: evidence to show, never a reason to refuse (a malformed tag is left out) ---------------------------

def _exif(image: Image.Image) -> Image.Exif:
    try:
        return image.getexif()
    except Exception:  # a broken EXIF block: the photo stands without it
        return Image.Exif()


def _taken_at(exif: Image.Exif) -> datetime | None:
    details = exif.get_ifd(ExifTags.IFD.Exif)
    text = details.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)
    try:
        moment = datetime.strptime(str(text).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = str(details.get(ExifTags.Base.OffsetTimeOriginal, "")).strip("\x00 ")
    if len(offset) == 6 and offset[0] in "+-" and offset[3] == ":" and (offset[1:3] + offset[4:]).isdigit():
        sign = 1 if offset[0] == "+" else -1
        delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[4:]))
        moment = moment.replace(tzinfo=timezone(sign * delta))
    return moment


def _position(exif: Image.Exif) -> Position | None:
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    try:
        latitude = _degrees(gps[ExifTags.GPS.GPSLatitude], gps.get(ExifTags.GPS.GPSLatitudeRef), "S")
        longitude = _degrees(gps[ExifTags.GPS.GPSLongitude], gps.get(ExifTags.GPS.GPSLongitudeRef), "W")
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    altitude = None
    with contextlib.suppress(KeyError, TypeError, ValueError, ZeroDivisionError):
        below_sea_level = gps.get(ExifTags.GPS.GPSAltitudeRef) in (1, b"\x01")
        altitude = float(gps[ExifTags.GPS.GPSAltitude]) * (-1 if below_sea_level else 1)
    return Position(latitude=round(latitude, 7), longitude=round(longitude, 7), altitude=altitude)


def _degrees(value: Any, reference: Any, negative: str) -> float:
    degrees, minutes, seconds = (float(part) for part in value)
    total = degrees + minutes / 60 + seconds / 3600
    if isinstance(reference, bytes):
        reference = reference.decode("ascii", "replace")
    return -total if str(reference).strip("\x00 ").upper() == negative else total
