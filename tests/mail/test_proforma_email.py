"""A proforma's email carries the proforma's PDF: issued by the billing run, queued as a notice
naming its proforma, delivered through the real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

from recurent.invoices.models import InvoiceDraft
from recurent.invoices.services import issue_due
from recurent.mail.models import OutboxMessage, OutboxState
from recurent.mail.sender import send_pending
from recurent.mail.services import notice_queue, notice_resend
from tests import factories as f
from tests.factories import local

RUN_AT = local(2026, 2, 2, 9)  # the contract's first period is due 2026-01-31 09:00
SEND_AT = local(2026, 2, 2, 10)


def _proforma_emailed(world):  # type: ignore[no-untyped-def]
    f.contract(world.company, issuer=world.user, proforma_first=True, auto_email=True)
    issue_due(as_of=RUN_AT)
    return InvoiceDraft.objects.get(), OutboxMessage.objects.get()


def _pdfs(received):  # type: ignore[no-untyped-def]
    return [
        (p.get_filename(), p.get_content_type(), p.get_payload(decode=True))
        for p in received.message.iter_attachments()
    ]


def test_the_proforma_email_arrives_with_the_stored_pdf_attached(mail_world):
    d, m = _proforma_emailed(mail_world)
    assert m.proforma_id == d.pk and d.proforma_pdf
    assert send_pending(limit=10, as_of=SEND_AT) == 1
    (got,) = mail_world.smtp.received
    assert got.message["Subject"] == "Proforma PF-000001 de la Recurent Demo SRL"
    assert _pdfs(got) == [("PF-000001.pdf", "application/pdf", bytes(d.proforma_pdf))]
    body = got.message.get_body(preferencelist=("plain",)).get_content()
    assert "PF-000001" in body and "121.00 RON" in body  # the text is unchanged
    m.refresh_from_db()
    assert m.state == OutboxState.SENT and m.attachments == ["PF-000001.pdf"]


def test_a_notice_resent_by_hand_carries_the_pdf_again(mail_world):
    d, m = _proforma_emailed(mail_world)
    again = notice_resend(message=m, as_of=SEND_AT)
    assert again.proforma_id == d.pk
    send_pending(limit=10, as_of=SEND_AT)
    assert len(mail_world.smtp.received) == 2
    for got in mail_world.smtp.received:
        assert _pdfs(got) == [("PF-000001.pdf", "application/pdf", bytes(d.proforma_pdf))]


def test_other_notices_and_a_proforma_without_its_pdf_go_without_attachments(mail_world):
    d, m = _proforma_emailed(mail_world)
    InvoiceDraft.objects.filter(pk=d.pk).update(proforma_pdf=None)
    notice_queue(company=mail_world.company, to=["ana@client.ro"], subject="Confirmare",
                 body_text="Bună ziua.\n", as_of=RUN_AT)  # fmt: skip
    assert send_pending(limit=10, as_of=SEND_AT) == 2
    assert [_pdfs(r) for r in mail_world.smtp.received] == [[], []]
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {OutboxState.SENT}


def test_deleting_the_proforma_keeps_its_notice(mail_world):
    d, m = _proforma_emailed(mail_world)
    InvoiceDraft.objects.filter(pk=d.pk).delete()
    m.refresh_from_db()
    assert m.proforma_id is None  # SET_NULL: the notice stays, sent without the PDF
    assert send_pending(limit=10, as_of=SEND_AT) == 1
    assert _pdfs(mail_world.smtp.received[0]) == []
