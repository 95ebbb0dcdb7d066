"""An issued invoice goes to SPV once, is followed until ANAF decides, and ANAF's answer is kept."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import translation

from recurent.efactura.models import Attempt, EfacturaState, EState
from recurent.efactura.services import efactura_send, efactura_tick
from tests.factories import local

from .conftest import issue_one

# Service errors read in English here, as the API and the command line show them.
pytestmark = pytest.mark.usefixtures("english")

T0 = local(2026, 1, 31, 9)


def tick_at(minutes: float, limit: int = 50) -> int:
    return efactura_tick(limit=limit, as_of=T0 + timedelta(minutes=minutes))


def test_upload_then_in_processing_then_ok_then_download(world, anaf, connected, emitted):
    inv = issue_one(world)
    st = EfacturaState.objects.get(pk=inv.pk)
    assert st.state == EState.QUEUED  # the company enabled automatic upload
    tick_at(0)
    st.refresh_from_db()
    assert st.state == EState.UPLOADED and st.upload_index in anaf.uploads
    up = anaf.uploads[st.upload_index]
    assert up["standard"] == "UBL" and up["cif"] == "18547290"
    tick_at(1)  # "in prelucrare"
    st.refresh_from_db()
    assert st.state == EState.UPLOADED and st.anaf_state == "in prelucrare"
    tick_at(1.5)  # not yet due: nothing asked
    assert anaf.hits["stareMesaj"] == 1
    tick_at(5)  # ok -> download
    st.refresh_from_db()
    assert st.state == EState.ACCEPTED and st.download_id
    names = zipfile.ZipFile(io.BytesIO(bytes(st.answer_zip))).namelist()
    assert names == [f"{st.upload_index}.xml", f"semnatura_{st.upload_index}.xml"]
    assert [e[1] for e in emitted] == ["efactura.accepted"]
    assert emitted[0][2]["number"] == inv.full_number
    assert [a.action for a in Attempt.objects.filter(state=st)] == [
        "upload",
        "status",
        "status",
        "download",
    ]
    # Nothing left to do: a later pass sends nothing.
    hits = sum(anaf.hits.values())
    tick_at(60)
    assert sum(anaf.hits.values()) == hits + 1  # only the hourly supplier-invoice listing
    assert anaf.hits["upload"] == 1


def test_upload_then_nok_with_errors_shown_in_plain_words(world, anaf, connected, emitted):
    anaf.upload_outcome = "nok"
    anaf.processing_polls = 0
    inv = issue_one(world)
    tick_at(0)
    tick_at(1)
    st = EfacturaState.objects.get(pk=inv.pk)
    assert st.state == EState.REJECTED
    assert st.errors == [
        "Rule BR-RO-110: Adresa vanzatorului trebuie sa contina strada",
        "Rule BR-CO-15: Invoice total amount with VAT = total without VAT + VAT",
    ]
    assert st.raw_errors[0].startswith("E: validari globale")
    assert st.answer_zip  # the error file is archived too
    assert [e[1] for e in emitted] == ["efactura.rejected"]


def test_an_upload_refused_at_once_is_rejected_with_anafs_reason(world, anaf, connected):
    msg = ("Fisierul transmis nu este valid. org.xml.sax.SAXParseException; lineNumber: 1; "
           "columnNumber: 1; Content is not allowed in prolog.")  # fmt: skip
    anaf.script("upload", (200, "application/xml",
        f'<header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1" dateResponse="202601310900" '
        f'ExecutionStatus="1"><Errors errorMessage="{msg}"/></header>'.encode()))  # fmt: skip
    inv = issue_one(world)
    tick_at(0)
    st = EfacturaState.objects.get(pk=inv.pk)
    assert st.state == EState.REJECTED
    assert st.errors == [
        "The file is not well-formed XML (line 1, column 1): Content is not allowed in prolog."
    ]


def test_without_automatic_upload_an_invoice_waits_for_a_person(world, anaf, connected):
    connected.auto_upload = False
    connected.save()
    inv = issue_one(world)
    # No state row at all: "not sent" is the absence of a row (the run wrote nothing here).
    assert not EfacturaState.objects.filter(pk=inv.pk).exists()
    tick_at(0)
    assert anaf.hits["upload"] == 0
    out = io.StringIO()
    # Commands print in the default language (Romanian); this one is asked for in English.
    with translation.override("en"):
        call_command("efactura", "send", inv.full_number, stdout=out)
    assert f"{inv.full_number}: uploaded, waiting for ANAF (upload index " in out.getvalue()
    assert anaf.hits["upload"] == 1
    # Sending again is refused: never twice.
    with pytest.raises(Exception, match="already"):
        call_command("efactura", "send", inv.full_number)
    assert anaf.hits["upload"] == 1


def test_an_invoice_waits_while_its_xml_is_not_ready(world, anaf, connected):
    from recurent.documents.models import InvoiceDocument

    inv = issue_one(world)
    InvoiceDocument.objects.filter(invoice=inv).delete()
    tick_at(0)
    st = EfacturaState.objects.get(pk=inv.pk)
    assert st.state == EState.QUEUED and "XML" in st.anaf_state
    assert anaf.hits["upload"] == 0


def test_a_credit_note_goes_as_standard_cn(world, anaf, connected):
    inv = issue_one(world)
    # The standard follows the kind of the document (no credit-note service to call here).
    from recurent.efactura.services import _standard

    inv.kind = "credit_note"
    assert _standard(inv) == "CN"


def test_sending_by_hand_when_not_connected_says_why(world, anaf):
    inv = issue_one(world)
    from recurent.efactura.services import NotSendable

    with pytest.raises(NotSendable, match="not connected"):
        efactura_send(invoice=inv, as_of=T0)
    assert anaf.hits["upload"] == 0
