"""Archives from outside (uploads, ANAF's downloads) opened with limits: no ZIP bomb.

A 1 MB ZIP can inflate to 1 GiB (a deflate stream of zeros compresses about 1000:1), and a
nested or overlapping one to far more. ``zipfile`` trusts the sizes a member declares and
``ZipFile.read`` inflates a member whole, so reading one unchecked member of an upload
could take the process to gigabytes (issue 14: an .ods annex did, 2.2 GB for one request).

Every archive from outside is opened with ``open_zip``, which refuses it before inflating
anything when the central directory declares:
- more members than ``max_members``;
- a member larger than ``max_member`` bytes, or all members together more than ``max_total``;
- a member that inflates more than ``max_ratio`` times its compressed size (beyond
  ``RATIO_FLOOR`` bytes: small files compress well and are harmless);
and ``read`` inflates in chunks and counts what actually comes out, so a member whose
declared size lies is stopped at the same limits. The refusal is an ``ArchiveRefused``
(a ValueError) whose message says which limit, for the person who uploaded the file.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.utils.translation import gettext

# Below this, a member's compression ratio is not checked (a 100 KB XML of repeated rows
# compresses 300:1 and is harmless).
RATIO_FLOOR = 1024 * 1024
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Limits:
    max_member: int = 50 * 1024 * 1024
    max_total: int = 200 * 1024 * 1024
    max_ratio: int = 100
    max_members: int = 10_000


class ArchiveRefused(ValueError):
    """The archive breaks a limit (or is not a ZIP); the message says which, in words.

    ``code``: not_zip, damaged, members, member_size, total_size or ratio."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class SafeZip:
    """The members of an opened archive, read within the limits."""

    def __init__(self, z: zipfile.ZipFile, limits: Limits) -> None:
        self._z = z
        self._limits = limits
        self._read_total = 0

    def namelist(self) -> list[str]:
        return self._z.namelist()

    def size(self, name: str) -> int:
        return self._z.getinfo(name).file_size

    def read(self, name: str, *, max_bytes: int | None = None) -> bytes:
        """A member's bytes; ``max_bytes`` lowers the member limit for this read (e.g. an ODS
        ``mimetype`` is a few dozen bytes). Raises KeyError for a missing member."""
        cap = min(self._limits.max_member, max_bytes or self._limits.max_member)
        info = self._z.getinfo(name)
        if info.file_size > cap:
            raise ArchiveRefused(_too_large(name, cap), "member_size")
        out = bytearray()
        with self._z.open(info) as fh:
            while chunk := fh.read(CHUNK):
                out += chunk
                self._read_total += len(chunk)
                if len(out) > cap:
                    raise ArchiveRefused(_too_large(name, cap), "member_size")
                if self._read_total > self._limits.max_total:
                    raise ArchiveRefused(_total_too_large(self._limits.max_total), "total_size")
                if len(out) > RATIO_FLOOR and len(out) > self._limits.max_ratio * max(
                    info.compress_size, 1
                ):
                    raise ArchiveRefused(_ratio(name, self._limits.max_ratio), "ratio")
        return bytes(out)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{n / 1024:g} KB"


def _too_large(name: str, cap: int) -> str:
    return gettext("the archive member %(name)s is larger than %(size)s once unpacked") % {
        "name": name[:100],
        "size": _mb(cap),
    }


def _total_too_large(cap: int) -> str:
    return gettext("the archive is larger than %(size)s once unpacked") % {"size": _mb(cap)}


def _ratio(name: str, ratio: int) -> str:
    return gettext(
        "the archive member %(name)s unpacks to more than %(ratio)s times its packed size "
        "(an archive bomb?)"
    ) % {"name": name[:100], "ratio": ratio}


def check_declared(z: zipfile.ZipFile, limits: Limits) -> None:
    """Refuse by the central directory alone, before anything is inflated."""
    infos = z.infolist()
    if len(infos) > limits.max_members:
        raise ArchiveRefused(
            gettext("the archive holds more than %(n)s files") % {"n": limits.max_members},
            "members",
        )
    total = 0
    for info in infos:
        if info.file_size > limits.max_member:
            raise ArchiveRefused(_too_large(info.filename, limits.max_member), "member_size")
        if info.file_size > RATIO_FLOOR and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise ArchiveRefused(_ratio(info.filename, limits.max_ratio), "ratio")
        total += info.file_size
        if total > limits.max_total:
            raise ArchiveRefused(_total_too_large(limits.max_total), "total_size")


@contextmanager
def open_zip(content: bytes, limits: Limits | None = None) -> Iterator[SafeZip]:
    """``with open_zip(data) as z: z.read(name)``. Raises ArchiveRefused for a file that is not
    a ZIP or breaks a limit."""
    limits = limits or Limits()
    try:
        z = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError):
        raise ArchiveRefused(gettext("the file is not a readable ZIP archive"), "not_zip") from None
    with z:
        check_declared(z, limits)
        try:
            yield SafeZip(z, limits)
        except (
            zipfile.BadZipFile,
            zlib.error,
            EOFError,
            NotImplementedError,
            RuntimeError,
            OSError,
        ) as e:
            # A corrupt member (bad CRC, unknown compression, encrypted) is a broken file.
            raise ArchiveRefused(
                gettext("the archive is damaged (%(error)s)") % {"error": str(e)[:200]}, "damaged"
            ) from None
