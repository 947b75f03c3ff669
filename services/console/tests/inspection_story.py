"""What the 211 page tests share: the units and the cycle they are set in, and phone-like photos (a JPEG with its
EXIF date, as a camera writes it)."""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

from PIL import ExifTags, Image, ImageDraw

# organisations of the test directory (pingan_stack/directory/test-units.csv), registered as inspection's units
UNITS = [
    {"id": "U-AY", "name": "安阳街道", "kind": "township", "contact": "张三 13800000001"},
    {"id": "U-YH", "name": "玉海街道", "kind": "township", "contact": "赵四 13800000002"},
    {"id": "D-YJ", "name": "市应急管理局", "kind": "department", "contact": "李五 13800000003"},
]
CYCLE = "c-2026-21"
CYCLE_NAME = "2026年第21期"


def cycle_body(start: date, *, covert_days: int = 2, rectification_days: int = 3) -> dict[str, Any]:
    return {"id": CYCLE, "name": CYCLE_NAME, "start_date": start.isoformat(), "covert_days": covert_days,
            "rectification_days": rectification_days, "unit_ids": [u["id"] for u in UNITS]}


def phone_jpeg(taken: str = "2026:11:02 10:15:00", colour: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    """A JPEG as a phone writes it: taken at ``taken`` (EXIF DateTimeOriginal, +08:00), somewhere in 瑞安."""
    exif = Image.Exif()
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.DateTimeOriginal] = taken
    details[ExifTags.Base.OffsetTimeOriginal] = "+08:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps.update({ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (27.0, 46.0, 47.0),
                ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (120.0, 39.0, 19.0)})
    image = Image.new("RGB", (480, 360), colour)
    ImageDraw.Draw(image).rectangle((0, 0, 480, 40), fill="black")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


PHOTO_URL = re.compile(r'/photos/(?:task|finding)/[^/"]+/[0-9a-f]{64}\.(?:jpg|png|webp)')


def photo_urls(html: str) -> list[str]:
    """The photo links a page carries (originals and thumbnails), in order, each once."""
    return list(dict.fromkeys(PHOTO_URL.findall(html)))
