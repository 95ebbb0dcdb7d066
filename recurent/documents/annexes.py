"""What ANAF accepts as an invoice annex (BG-24, embedded base64 in the XML).

Types: the BR-CL-24 MIME codes (PDF, PNG, JPEG, CSV, XLSX, ODS). Size: ANAF is reported to
refuse an upload over 10 MB; base64 makes a file 4/3 larger, so the files travelling with
one invoice may add up to 7 MB (9.3 MB encoded), leaving room for the invoice itself.
The type is recognised from the content, not only the name: a renamed file is refused.
"""

from __future__ import annotations

from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

from recurent.common.errors import field_error
from recurent.common.safezip import ArchiveRefused, open_zip

MAX_TOTAL_BYTES = 7 * 1024 * 1024
TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
}


def _looks_like(ext: str, content: bytes) -> bool:
    if ext == ".pdf":
        return content.startswith(b"%PDF-")
    if ext == ".png":
        return content.startswith(b"\x89PNG\r\n\x1a\n")
    if ext in (".jpg", ".jpeg"):
        return content.startswith(b"\xff\xd8\xff")
    if ext == ".csv":
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return b"\x00" not in content
    try:
        # Limits on every member, the total and the ratio: an upload can be a ZIP bomb.
        with open_zip(content) as z:
            names = set(z.namelist())
            if ext == ".xlsx":
                return "[Content_Types].xml" in names
            # An ODS names its type in a few dozen bytes; nothing bigger is read.
            return z.read("mimetype", max_bytes=1024).decode() == TYPES[".ods"]
    except ArchiveRefused as e:
        if e.code in ("not_zip", "damaged"):
            return False  # then "the content of X is not an ODS file"
        raise ValidationError({"file": [str(e)]}) from None
    except (KeyError, UnicodeDecodeError):
        return False


def check_annex(
    *, filename: str, content: bytes, description: str = "", existing_total: int = 0
) -> str:
    """The MIME type of an acceptable annex, or ValidationError naming the reason."""
    name = PurePath(filename or "").name
    if not name or len(name) > 200:
        raise field_error(
            "filename",
            gettext_lazy("a file name of 1 to 200 characters is needed"),
            "bad_filename",
        )
    ext = PurePath(name).suffix.lower()
    if ext not in TYPES:
        raise field_error(
            "file",
            gettext_lazy(
                "%(value)s files are not accepted by e-Factura; use PDF, PNG, JPEG, CSV, XLSX or ODS"
            ),
            "file_type_refused",
            value=ext or "this",
        )
    if not content:
        raise field_error("file", gettext_lazy("the file is empty"), "file_empty")
    if not _looks_like(ext, content):
        raise field_error(
            "file",
            gettext_lazy("the content of %(name)s is not a %(value)s file"),
            "content_not_file",
            name=name,
            value=ext[1:].upper(),
        )
    if existing_total + len(content) > MAX_TOTAL_BYTES:
        mb = MAX_TOTAL_BYTES // (1024 * 1024)
        raise field_error(
            "file",
            gettext_lazy(
                "the annexes of one invoice may total at most %(mb)s MB (ANAF refuses uploads over 10 MB)"
            ),
            "annexes_too_large",
            mb=mb,
        )
    if len(description) > 100:
        raise field_error(
            "description",
            gettext_lazy("at most 100 characters (BR-RO-L1020)"),
            "max_length",
        )
    return TYPES[ext]
