"""Archive bombs are refused cheaply (issue 14, item 3): every archive from outside is opened
through recurent.common.safezip, with limits on each member, the total and the ratio.

The memory test runs in a subprocess so that its peak RSS is the check's own (a 1 MB .ods that
inflates to 1 GiB took the web process to 2.2 GB before).
"""

import io
import json
import os
import subprocess
import sys
import time
import zipfile

import pytest
from django.core.exceptions import ValidationError

from recurent.common import safezip
from recurent.documents.annexes import check_annex
from recurent.efactura import spv, supplier
from tests.core.zipbomb import MIB, zip_of_zeros

# Service errors read in English here, as the API and the command line show them.
pytestmark = pytest.mark.usefixtures("english")

GIB = 1 << 30

PEAK = r"""
import json, sys, time
import django

def vm_hwm_mb():
    # The peak RSS of this process's own memory (VmHWM), not ru_maxrss: Linux carries
    # ru_maxrss over exec from the parent, so a child of a big pytest worker would report
    # the worker's peak.
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024

django.setup()
from django.core.exceptions import ValidationError
from recurent.documents.annexes import check_annex
from tests.core.zipbomb import zip_of_zeros
name, members = sys.argv[1], json.loads(sys.argv[2])
bomb = zip_of_zeros([tuple(m) for m in members])
before = vm_hwm_mb()
t = time.monotonic()
try:
    check_annex(filename=name, content=bomb)
    outcome = "accepted"
except ValidationError as e:
    outcome = " ".join(e.message_dict["file"])
print(json.dumps({"size": len(bomb), "outcome": outcome, "seconds": time.monotonic() - t,
                  "peak_mb": vm_hwm_mb(), "before_mb": before}))
"""


def _check_in_subprocess(name, members):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "recurent.settings.test"}
    out = subprocess.run(
        [sys.executable, "-c", PEAK, name, json.dumps(members)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "name, members",
    [
        ("bomb.ods", [("mimetype", GIB)]),  # the finding: the ODS mimetype member read whole
        ("bomb.xlsx", [("[Content_Types].xml", 100), ("xl/worksheets/sheet1.xml", GIB)]),
    ],
)
def test_a_1_mb_annex_that_inflates_to_1_gib_is_refused_in_little_memory(name, members):
    got = _check_in_subprocess(name, members)
    assert got["size"] < 1.1 * MIB  # really a 1 MB upload
    assert "mimetype" in got["outcome"] or "sheet1.xml" in got["outcome"], got
    assert "50 MB" in got["outcome"], got  # the limit, named (in the active language)
    # Django and the test itself take ~90 MB; the bomb took 2,128 MB before the fix.
    assert got["peak_mb"] < 250, got
    assert got["seconds"] < 5, got  # refused from the sizes (inflating took 24 s)


def _ods(mimetype: bytes = b"application/vnd.oasis.opendocument.spreadsheet") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", mimetype)
        z.writestr("content.xml", "<office:document-content/>", zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def test_an_honest_ods_is_still_accepted_and_a_broken_zip_is_not_an_ods():
    assert check_annex(filename="a.ods", content=_ods()).endswith("spreadsheet")
    with pytest.raises(ValidationError, match="not a ODS"):
        check_annex(filename="a.ods", content=b"PK\x03\x04 not really")


def test_the_compression_ratio_is_limited_beyond_a_small_floor():
    # 3 MiB of zeros in ~3 KB: a ratio no office file has.
    with (
        pytest.raises(safezip.ArchiveRefused) as e,
        safezip.open_zip(zip_of_zeros([("a", 3 * MIB)])),
    ):
        pass
    assert e.value.code == "ratio"
    # A small member may compress as well as it likes.
    with safezip.open_zip(zip_of_zeros([("a", MIB // 2)])) as z:
        assert len(z.read("a")) == MIB // 2


def test_the_total_and_the_member_count_are_limited():
    members = [(f"m{i}", MIB // 2) for i in range(5)]
    limits = safezip.Limits(max_total=2 * MIB)
    with (
        pytest.raises(safezip.ArchiveRefused) as e,
        safezip.open_zip(zip_of_zeros(members), limits),
    ):
        pass
    assert e.value.code == "total_size"
    with (
        pytest.raises(safezip.ArchiveRefused) as e,
        safezip.open_zip(zip_of_zeros(members), safezip.Limits(max_members=4)),
    ):
        pass
    assert e.value.code == "members"


def test_a_read_stops_at_its_own_cap_while_inflating():
    with safezip.open_zip(zip_of_zeros([("mimetype", 900 * 1024)])) as z:
        with pytest.raises(safezip.ArchiveRefused, match="1 KB"):
            z.read("mimetype", max_bytes=1024)


def test_anaf_zips_from_a_supplier_upload_or_a_download_are_limited_too():
    bomb = zip_of_zeros([("5004552043.xml", GIB)])
    t = time.monotonic()
    with pytest.raises(supplier.NotReadable, match="20 MB"):
        supplier.read_zip(bomb)
    with pytest.raises(safezip.ArchiveRefused):
        spv.zip_members(bomb)
    with pytest.raises(spv.AnafMalformed, match="50 MB"):
        spv.check_zip(bomb, "download 1")
    assert time.monotonic() - t < 1  # refused from the sizes, nothing inflated
