"""An invoice ANAF rejected is corrected (buyer, delivery data, notes), checked, and sent again
under the same number; every XML version is kept; an accepted invoice never changes."""

from __future__ import annotations

import io
import subprocess
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation
from lxml import etree

from recurent.companies.models import Role
from recurent.companies.services import membership_grant
from recurent.documents.api import document
from recurent.documents.services import invoice_render
from recurent.efactura.correction import (
    corrections_of,
    invoice_efactura_correct,
    invoice_efactura_correction_preview,
)
from recurent.efactura.models import EfacturaState, EState, InvoiceCorrection
from recurent.efactura.services import efactura_tick
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local

from .conftest import NS

T0 = local(2026, 1, 31, 9)
NEW_BUYER = {"name": "Client Corectat SRL", "street": "Str. Republicii 10"}


def tick_at(minutes: float) -> None:
    efactura_tick(limit=50, as_of=T0 + timedelta(minutes=minutes))


def pdf_text(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)
    return out.stdout.decode()


def buyer_name(xml: bytes) -> str:
    root = etree.fromstring(xml)
    return root.findtext(
        "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName",
        namespaces=NS,
    )


def issue_rendered(world) -> Invoice:
    """One invoice issued by the engine, with its real PDF and XML rendered and stored."""
    f.contract(world.company, issuer=world.user, first=T0)
    assert issue_due(as_of=T0).issued == 1
    inv = Invoice.objects.order_by("-pk").first()
    invoice_render(invoice=inv)
    return inv


@pytest.fixture
def rejected(world, anaf, connected):
    """An invoice whose first upload ANAF rejects (the stand-in's reject-first mode)."""
    anaf.reject_first = 1
    anaf.processing_polls = 0
    inv = issue_rendered(world)
    tick_at(0)  # upload
    tick_at(1)  # nok -> the error file is downloaded
    st = EfacturaState.objects.get(pk=inv.pk)
    assert st.state == EState.REJECTED and st.errors
    return inv


def test_rejected_then_corrected_then_resent_then_accepted(world, anaf, rejected):
    inv = rejected
    first = EfacturaState.objects.get(pk=inv.pk)
    rejected_index, rejected_xml = first.upload_index, anaf.uploads[first.upload_index]["xml"]

    c = invoice_efactura_correct(
        invoice=inv, changes={"buyer": NEW_BUYER, "notes": "Comanda 77"}, user=world.user,
        reason="ANAF: the buyer's address was wrong", as_of=T0 + timedelta(minutes=5),
    )  # fmt: skip

    st = EfacturaState.objects.get(pk=inv.pk)
    assert st.state == EState.QUEUED and not st.upload_index and not st.errors
    assert c.version == 1 and c.previous_xml == rejected_xml
    assert c.rejected_upload_index == rejected_index and c.rejected_errors == first.errors
    assert {
        "field": "buyer.name",
        "old": inv.buyer["name"],
        "new": "Client Corectat SRL",
    } in c.changes
    tick_at(6)  # sent again
    tick_at(7)  # ok -> ANAF's signed ZIP
    st.refresh_from_db()
    assert st.state == EState.ACCEPTED
    assert len(anaf.uploads) == 2
    resent = anaf.uploads[st.upload_index]
    assert resent["xml"] == c.xml == bytes(document(inv.pk, "xml").content)
    root = etree.fromstring(resent["xml"])
    # Same number and date: a correction is not a new invoice.
    assert root.findtext("cbc:ID", namespaces=NS) == inv.full_number
    assert root.findtext("cbc:IssueDate", namespaces=NS) == inv.issue_date.isoformat()
    assert buyer_name(resent["xml"]) == "Client Corectat SRL"
    assert "Comanda 77" in [n.text for n in root.findall("cbc:Note", NS)]
    # The issued row itself is untouched (the immutability trigger would refuse anyway).
    inv.refresh_from_db()
    assert inv.buyer["name"] != "Client Corectat SRL"


def test_the_pdf_shows_the_corrected_buyer(world, rejected):
    before = pdf_text(bytes(document(rejected.pk, "pdf").content))
    assert rejected.buyer["name"] in before
    invoice_efactura_correct(invoice=rejected, changes={"buyer": NEW_BUYER}, user=world.user,
                             reason="wrong name", as_of=T0 + timedelta(minutes=5))  # fmt: skip
    after = pdf_text(bytes(document(rejected.pk, "pdf").content))
    assert "Client Corectat SRL" in after and "Str. Republicii 10" in after
    assert rejected.buyer["name"] not in after
    # A PDF rendered again later (documents are re-rendered when missing) applies it too.
    from recurent.documents.models import InvoiceDocument

    InvoiceDocument.objects.filter(invoice=rejected, kind="pdf").delete()
    invoice_render(invoice=rejected)
    assert "Client Corectat SRL" in pdf_text(bytes(document(rejected.pk, "pdf").content))


def test_every_version_is_kept_with_who_when_and_why(world, anaf, rejected):
    original = bytes(document(rejected.pk, "xml").content)
    invoice_efactura_correct(invoice=rejected, changes={"buyer": {"name": "Prima Corectura SRL"}},
                             user=world.user, reason="first fix", as_of=T0 + timedelta(minutes=5))  # fmt: skip
    anaf.reject_first = 1
    tick_at(6)
    tick_at(7)
    assert EfacturaState.objects.get(pk=rejected.pk).state == EState.REJECTED
    other = f.user(first_name="Ana", last_name="Pop")
    membership_grant(user=other, company=world.company, role=Role.ACCOUNTANT)
    invoice_efactura_correct(invoice=rejected, changes={"buyer": {"name": "A Doua Corectura SRL"}},
                             user=other, reason="second fix", as_of=T0 + timedelta(minutes=10))  # fmt: skip
    v1, v2 = corrections_of(rejected)
    assert (v1.version, v1.reason, v1.created_by_id) == (1, "first fix", world.user.pk)
    assert (v2.version, v2.reason, v2.created_by_name) == (2, "second fix", "Ana Pop")
    assert v2.created_at == T0 + timedelta(minutes=10)
    v1 = InvoiceCorrection.objects.get(pk=v1.pk)
    v2 = InvoiceCorrection.objects.get(pk=v2.pk)
    # The chain of XMLs: as issued -> v1 -> v2, each one kept.
    assert bytes(v1.previous_xml) == original
    assert bytes(v2.previous_xml) == bytes(v1.xml)
    assert [buyer_name(bytes(x)) for x in (v1.previous_xml, v1.xml, v2.xml)] == [
        rejected.buyer["name"], "Prima Corectura SRL", "A Doua Corectura SRL",
    ]  # fmt: skip
    assert v2.rejected_answer_zip  # ANAF's error file of the second rejection is archived


def test_an_accepted_invoice_can_never_be_changed(world, anaf, connected):
    anaf.processing_polls = 0
    inv = issue_rendered(world)
    tick_at(0)
    tick_at(1)
    assert EfacturaState.objects.get(pk=inv.pk).state == EState.ACCEPTED
    xml = bytes(document(inv.pk, "xml").content)
    with pytest.raises(ValidationError) as e:
        invoice_efactura_correct(invoice=inv, changes={"buyer": NEW_BUYER}, user=world.user,
                                 reason="try", as_of=T0 + timedelta(minutes=5))  # fmt: skip
    assert e.value.error_dict["invoice"][0].code == "accepted"
    assert not InvoiceCorrection.objects.exists()
    assert bytes(document(inv.pk, "xml").content) == xml


def test_an_invoice_not_rejected_cannot_be_corrected(world, anaf, connected):
    connected.auto_upload = False
    connected.save()
    inv = issue_rendered(world)
    with pytest.raises(ValidationError) as e:
        invoice_efactura_correct(invoice=inv, changes={"notes": "x"}, user=world.user,
                                 reason="try", as_of=T0)  # fmt: skip
    assert e.value.error_dict["invoice"][0].code == "not_rejected"


def test_a_viewer_is_refused(world, rejected):
    viewer = f.user()
    membership_grant(user=viewer, company=world.company, role=Role.VIEWER)
    with pytest.raises(PermissionDenied):
        invoice_efactura_correct(invoice=rejected, changes={"buyer": NEW_BUYER}, user=viewer,
                                 reason="try", as_of=T0 + timedelta(minutes=5))  # fmt: skip
    stranger = f.user()  # no role in this company at all
    with pytest.raises(PermissionDenied):
        invoice_efactura_correct(invoice=rejected, changes={"buyer": NEW_BUYER}, user=stranger,
                                 reason="try", as_of=T0 + timedelta(minutes=5))  # fmt: skip
    assert EfacturaState.objects.get(pk=rejected.pk).state == EState.REJECTED


def test_amounts_and_lines_are_refused_they_need_a_storno(world, rejected):
    for changes in ({"lines": []}, {"gross_total": "1.00"}, {"buyer": {"iban": "x"}}):
        with pytest.raises(ValidationError) as e:
            invoice_efactura_correct(invoice=rejected, changes=changes, user=world.user,
                                     reason="try", as_of=T0 + timedelta(minutes=5))  # fmt: skip
        assert any(
            err.code == "not_correctable" for errs in e.value.error_dict.values() for err in errs
        )
    assert not InvoiceCorrection.objects.exists()


def test_a_correction_that_breaks_the_xml_is_refused_and_nothing_changes(world, rejected):
    xml = bytes(document(rejected.pk, "xml").content)
    with pytest.raises(ValidationError) as e:
        invoice_efactura_correct(invoice=rejected, changes={"buyer": {"street": ""}},
                                 user=world.user, reason="oops", as_of=T0 + timedelta(minutes=5))  # fmt: skip
    assert "buyer.street" in e.value.error_dict
    with pytest.raises(ValidationError) as e:
        invoice_efactura_correct(invoice=rejected, changes={"buyer": NEW_BUYER}, user=world.user,
                                 reason="  ", as_of=T0 + timedelta(minutes=5))  # fmt: skip
    assert "reason" in e.value.error_dict
    assert not InvoiceCorrection.objects.exists()
    assert bytes(document(rejected.pk, "xml").content) == xml
    assert EfacturaState.objects.get(pk=rejected.pk).state == EState.REJECTED


def test_the_preview_shows_the_new_xml_passing_the_check_and_stores_nothing(world, rejected):
    p = invoice_efactura_correction_preview(
        invoice=rejected, changes={"buyer": NEW_BUYER}, user=world.user, as_of=T0
    )
    assert p.valid and buyer_name(p.xml) == "Client Corectat SRL"
    assert [c["field"] for c in p.changes] == ["buyer.name", "buyer.street"]
    assert not InvoiceCorrection.objects.exists()
    assert EfacturaState.objects.get(pk=rejected.pk).state == EState.REJECTED


# --- the three ways in: invoice page, API, command line ---------------------------------------


def test_on_the_invoice_page_an_accountant_checks_then_corrects_and_sends_again(
    client, world, anaf, rejected
):
    client.force_login(world.user)
    page = client.get(reverse("web:invoice", args=[rejected.pk])).content.decode()
    url = reverse("efactura:correct", args=[rejected.pk])
    assert 'id="efactura-correct"' in page and url in page
    form = {"buyer.name": "Client Corectat SRL", "buyer.street": "Str. Republicii 10",
            "reason": "ANAF: wrong address"}  # fmt: skip
    preview = client.post(url, {**form, "action": "preview"}).content.decode()
    assert 'id="correction-preview"' in preview and "Client Corectat SRL" in preview
    assert "alert-error" not in preview.split('id="correction-preview"')[1]
    assert not InvoiceCorrection.objects.exists()
    resp = client.post(url, {**form, "action": "correct"})
    assert resp.status_code == 302 and resp["Location"].endswith("#efactura")
    st = EfacturaState.objects.get(pk=rejected.pk)
    assert st.state == EState.UPLOADED and len(anaf.uploads) == 2  # sent again at once
    assert buyer_name(anaf.uploads[st.upload_index]["xml"]) == "Client Corectat SRL"
    history = client.get(url).content.decode()
    assert 'id="correction-history"' in history and "ANAF: wrong address" in history
    assert 'id="correction-closed"' in history and 'id="correct-send"' not in history
    page = client.get(reverse("web:invoice", args=[rejected.pk])).content.decode()
    assert 'id="efactura-versions"' in page and 'id="efactura-correct"' not in page
    xml = client.get(reverse("efactura:correction-xml", args=[rejected.pk, 1, "previous"]))
    assert xml.status_code == 200 and buyer_name(xml.content) == rejected.buyer["name"]


def test_the_page_refuses_a_viewer_and_shows_a_refusal_next_to_its_field(client, world, rejected):
    viewer = f.user()
    membership_grant(user=viewer, company=world.company, role=Role.VIEWER)
    client.force_login(viewer)
    url = reverse("efactura:correct", args=[rejected.pk])
    assert (
        'id="efactura-correct"'
        not in client.get(reverse("web:invoice", args=[rejected.pk])).content.decode()
    )
    assert client.get(url).status_code == 403
    assert (
        client.post(url, {"buyer.name": "X", "reason": "r", "action": "correct"}).status_code == 403
    )
    client.force_login(world.user)
    page = client.post(
        url, {"buyer.street": "", "reason": "r", "action": "correct"}
    ).content.decode()
    assert "BR-RO-080" in page  # the street is required: shown, nothing stored
    assert not InvoiceCorrection.objects.exists()


def test_the_api_corrects_once_per_idempotency_key(world, rejected):
    from tests.api.conftest import Api, token_for

    _, raw = token_for(world.user, world.company)
    api = Api(raw)
    path = f"/invoices/{rejected.pk}/efactura/correct"
    body = {"reason": "wrong buyer name", "buyer": {"name": "Client Corectat SRL"}, "notes": "PO 7"}
    first = api.post(path, body, headers={"Idempotency-Key": "fix-1"})
    assert first.status_code == 201, first.content
    out = first.json()
    assert (out["version"], out["efactura_state"]) == (1, "queued")
    assert {"field": "notes", "old": "", "new": "PO 7"} in out["changes"]
    again = api.post(path, body, headers={"Idempotency-Key": "fix-1"})
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert InvoiceCorrection.objects.count() == 1
    # Queued, not rejected any more: a second correction is a conflict, as for an accepted one.
    conflict = api.post(path, {"reason": "again", "notes": "x"})
    assert conflict.status_code == 409 and conflict.json()["code"] == "conflict"
    # Amounts and lines are not part of the body: refused as input.
    bad = api.post(path, {"reason": "x", "lines": [], "gross_total": "1.00"})
    assert bad.status_code == 422
    viewer = f.user()
    membership_grant(user=viewer, company=world.company, role=Role.VIEWER)
    _, raw_viewer = token_for(viewer, world.company)
    assert Api(raw_viewer).post(path, body).status_code == 403


def test_the_api_refuses_an_accepted_invoice_with_a_conflict(world, anaf, connected):
    from tests.api.conftest import Api, token_for

    anaf.processing_polls = 0
    inv = issue_rendered(world)
    tick_at(0)
    tick_at(1)
    _, raw = token_for(world.user, world.company)
    resp = Api(raw).post(f"/invoices/{inv.pk}/efactura/correct", {"reason": "x", "notes": "y"})
    assert resp.status_code == 409 and resp.json()["code"] == "conflict"
    assert inv.full_number in resp.json()["detail"] and not InvoiceCorrection.objects.exists()


def test_the_command_line_checks_then_corrects_and_sends_again(world, anaf, rejected):
    out = io.StringIO()
    args = ["efactura", "correct", rejected.full_number, "--set", "buyer.name=Client CLI SRL",
            "--user", world.user.username]  # fmt: skip
    with translation.override("en"):
        call_command(*args, "--dry-run", stdout=out)
        assert "the new XML passes the e-Factura check" in out.getvalue()
        assert not InvoiceCorrection.objects.exists()
        with pytest.raises(CommandError, match="reason"):
            call_command(*args)
        call_command(*args, "--reason", "ANAF: wrong name", stdout=out)
    assert "corrected, version 1" in out.getvalue()
    st = EfacturaState.objects.get(pk=rejected.pk)
    assert st.state == EState.UPLOADED
    assert buyer_name(anaf.uploads[st.upload_index]["xml"]) == "Client CLI SRL"


def test_a_buyer_corrected_to_a_person_is_sent_again_to_the_b2c_endpoint(world, anaf, rejected):
    assert (
        anaf.uploads[EfacturaState.objects.get(pk=rejected.pk).upload_index]["endpoint"] == "upload"
    )
    invoice_efactura_correct(
        invoice=rejected, changes={"buyer": {"kind": "individual", "name": "Ion Popescu",
                                             "tax_id": f.CNP, "trade_register": ""}},
        user=world.user, reason="the buyer is a person", as_of=T0 + timedelta(minutes=5),
    )  # fmt: skip
    tick_at(6)
    st = EfacturaState.objects.get(pk=rejected.pk)
    assert st.state == EState.UPLOADED
    assert anaf.uploads[st.upload_index]["endpoint"] == "uploadb2c"


def test_the_portal_hands_the_client_the_corrected_pdf_and_xml(client, world, rejected):
    from recurent.clients import portal_links as links

    invoice_efactura_correct(invoice=rejected, changes={"buyer": NEW_BUYER}, user=world.user,
                             reason="wrong name", as_of=T0 + timedelta(minutes=5))  # fmt: skip
    token = links.portal_token(rejected.client_id)
    pdf = client.get(reverse("portal:document", args=[token, rejected.pk, "pdf"]))
    assert pdf.status_code == 200 and "Client Corectat SRL" in pdf_text(pdf.content)
    xml = client.get(reverse("portal:document", args=[token, rejected.pk, "xml"]))
    assert buyer_name(xml.content) == "Client Corectat SRL"


def test_corrected_delivery_data_go_into_the_xml(world, rejected):
    with pytest.raises(ValidationError) as e:
        invoice_efactura_correct(invoice=rejected, changes={"delivery": {"date": "30.01.2026"}},
                                 user=world.user, reason="x", as_of=T0)  # fmt: skip
    assert list(e.value.error_dict) == ["delivery.date"]
    c = invoice_efactura_correct(
        invoice=rejected,
        changes={"delivery": {"street": "Str. Depozitului 3", "city": "Cluj-Napoca",
                              "county": "RO-CJ", "country": "ro", "date": "2026-01-30"}},
        user=world.user, reason="goods delivered to the warehouse", as_of=T0 + timedelta(minutes=5),
    )  # fmt: skip
    assert c.delivery["country"] == "RO"
    root = etree.fromstring(bytes(document(rejected.pk, "xml").content))
    assert root.findtext("cac:Delivery/cbc:ActualDeliveryDate", namespaces=NS) == "2026-01-30"
    street = "cac:Delivery/cac:DeliveryLocation/cac:Address/cbc:StreetName"
    assert root.findtext(street, namespaces=NS) == "Str. Depozitului 3"


def test_a_lost_answer_after_a_correction_is_reconciled_by_the_corrected_buyer(
    world, anaf, rejected
):
    """The resend's answer is lost: ANAF's message names the corrected CUI, and the error file
    of the rejected upload is not taken for it; never a third upload."""
    new_cui = next(c for c in f.CUI_BUYERS if c != rejected.buyer["tax_id"])
    invoice_efactura_correct(invoice=rejected, changes={"buyer": {"tax_id": new_cui}},
                             user=world.user, reason="wrong CUI", as_of=T0 + timedelta(minutes=5))  # fmt: skip
    anaf.upload_delay = 1.0  # ANAF takes the file; the answer comes after our timeout
    tick_at(6)
    assert EfacturaState.objects.get(pk=rejected.pk).state == EState.UPLOADING
    tick_at(20)  # reconciliation
    st = EfacturaState.objects.get(pk=rejected.pk)
    assert st.state == EState.ACCEPTED and st.upload_index in anaf.uploads
    assert anaf.uploads[st.upload_index]["buyer"] == new_cui.removeprefix("RO")
    assert anaf.hits["upload"] == 2
