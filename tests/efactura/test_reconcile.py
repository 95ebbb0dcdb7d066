"""An upload whose answer was lost is found at ANAF, never uploaded a second time."""

from __future__ import annotations

from datetime import timedelta

from recurent.efactura.models import Attempt, EfacturaState, EState
from recurent.efactura.services import efactura_tick
from tests.factories import local

from .conftest import issue_one

T0 = local(2026, 1, 31, 9)


def tick_at(minutes: float) -> int:
    return efactura_tick(limit=50, as_of=T0 + timedelta(minutes=minutes))


def test_a_lost_upload_answer_is_reconciled_without_a_second_upload(
    world, anaf, connected, emitted
):
    anaf.upload_delay = 1.0  # ANAF registers the file, the answer comes after our 0.4 s timeout
    anaf.processing_polls = 0
    inv = issue_one(world)
    tick_at(0)
    st = EfacturaState.objects.get(pk=inv.pk)
    assert st.state == EState.UPLOADING and st.upload_index == ""
    assert Attempt.objects.get(state=st, action="upload").outcome == "unknown"
    tick_at(5)  # too early to conclude anything: nothing is sent
    assert anaf.hits["upload"] == 1 and anaf.hits["listaMesajeFactura"] <= 1
    tick_at(11)  # reconciliation: the invoice is found among ANAF's messages
    st.refresh_from_db()
    assert st.state == EState.ACCEPTED
    assert st.upload_index in anaf.uploads and st.answer_zip
    assert anaf.hits["upload"] == 1  # counted at the fake ANAF: never a second upload
    assert [e[1] for e in emitted] == ["efactura.accepted"]
    tick_at(120)
    assert anaf.hits["upload"] == 1


def test_another_invoice_of_the_company_is_not_taken_for_the_lost_one(world, anaf, connected):
    # A first invoice, accepted normally, is in the message list with its own number.
    anaf.processing_polls = 0
    first = issue_one(world, when=local(2026, 1, 31, 9))
    tick_at(0)
    tick_at(1)
    assert EfacturaState.objects.get(pk=first.pk).state == EState.ACCEPTED
    # A second one whose upload crashed before the call (intent recorded, nothing sent).
    second = issue_one(world, when=local(2026, 1, 31, 9, 30))
    EfacturaState.objects.filter(pk=second.pk).update(
        state=EState.UPLOADING, uploading_since=T0 + timedelta(minutes=30),
        next_attempt_at=T0 + timedelta(minutes=40),
    )  # fmt: skip
    anaf.messages_extra.append({  # someone else's upload from another program, same seller
        "data_creare": "209901010000", "cif": "18547290", "id_solicitare": "999", "tip": "FACTURA TRIMISA",
        "detalii": "Factura cu id_incarcare=999 emisa de cif_emitent=18547290 pentru cif_beneficiar=1", "id": "998",
    })  # fmt: skip
    tick_at(41)
    st = EfacturaState.objects.get(pk=second.pk)
    assert st.state == EState.UPLOADING and st.upload_index == ""
    assert anaf.hits["upload"] == 1
    # Nothing at ANAF for the whole grace period: then, and only then, it is uploaded again.
    tick_at(30 + 12 * 60 + 1)
    st.refresh_from_db()
    assert st.state in (EState.UPLOADED, EState.ACCEPTED)
    assert anaf.hits["upload"] == 2
    assert sum(second.full_number.encode() in u["xml"] for u in anaf.uploads.values()) == 1


def test_a_lost_upload_that_anaf_rejected_is_recognised_by_elimination(
    world, anaf, connected, emitted
):
    anaf.upload_delay = 1.0
    anaf.upload_outcome = "nok"
    inv = issue_one(world)
    tick_at(0)
    tick_at(11)
    st = EfacturaState.objects.get(pk=inv.pk)
    assert st.state == EState.REJECTED and st.errors[0].startswith("Rule BR-RO-110")
    assert anaf.hits["upload"] == 1
    assert [e[1] for e in emitted] == ["efactura.rejected"]
