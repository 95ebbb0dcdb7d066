"""The seller's logo: checked to be a real image, capped in size, scaled down once at upload.

Every invoice PDF embeds the logo, so a 5 MB photo would make every PDF weigh 5 MB: the stored
logo is at most ``MAX_SIDE`` pixels on its longer side and re-encoded (PNG when it has
transparency, JPEG otherwise), which keeps an invoice PDF well under 200 KB.
"""

from __future__ import annotations

import io
from pathlib import PurePath
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext_lazy as _

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_SIDE = 600  # pixels; a logo prints about 4 cm wide at 300 dpi
FORMATS = {"PNG", "JPEG", "GIF", "WEBP", "BMP"}


def logo_prepare(*, upload: Any) -> ContentFile[bytes]:
    """The uploaded file as a small PNG or JPEG; ValidationError on ``logo`` if it is not one."""
    from PIL import Image, UnidentifiedImageError

    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            {
                "logo": ValidationError(
                    _("the logo is larger than %(max)s MB; choose a smaller image"),
                    code="logo_too_large",
                    params={"max": MAX_UPLOAD_BYTES // (1024 * 1024)},
                )
            }
        )
    raw = upload.read()
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            probe.verify()  # a text file named .png fails here
        image = Image.open(io.BytesIO(raw))
        image.load()
        if image.format not in FORMATS:
            raise UnidentifiedImageError(image.format)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError(
            {
                "logo": ValidationError(
                    _("the file is not an image; upload a PNG or JPEG logo"), code="logo_invalid"
                )
            }
        ) from None
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    transparent = image.mode in {"RGBA", "LA", "P"} and (
        image.mode != "P" or "transparency" in image.info
    )
    out = io.BytesIO()
    if transparent:
        image.convert("RGBA").save(out, "PNG", optimize=True)
        ext = "png"
    else:
        image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
        ext = "jpg"
    stem = PurePath(getattr(upload, "name", "") or "logo").stem[:40] or "logo"
    return ContentFile(out.getvalue(), name=f"{stem}.{ext}")
