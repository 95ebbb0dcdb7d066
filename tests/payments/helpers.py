"""Invoices for payment tests, issued through the real billing engine."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from recurent.invoices.storno import invoice_storno
from tests import factories as f
from tests.factories import local


def issued(world, *, client=None, price="100.00", periods=1, first=None, **contract_kw):
    """A monthly contract of one product at ``price`` (+21% VAT), invoiced ``periods`` times."""
    cl = client or f.client(world.company)
    p = f.product(world.company, unit_price=Decimal(price))
    first = first or local(2026, 1, 31)
    c = f.contract(
        world.company, issuer=world.user, client_=cl, lines=[(p, "1")], first=first, **contract_kw
    )
    for _ in range(periods):
        c.refresh_from_db()
        issue_due(as_of=c.next_issue_at, company_id=world.company.pk)
    return cl, list(Invoice.objects.filter(client=cl).order_by("number"))


def credit_note(inv: Invoice, quantity: str | None = None) -> Invoice:
    """A storno against ``inv`` through the real service: ``quantity`` of its first line, or
    every line (the invoice is then cancelled)."""
    lines = None if quantity is None else [(inv.lines.first(), Decimal(quantity))]
    inv.series.refresh_from_db()
    at = inv.series.last_issued_at + timedelta(hours=1)  # after the series' newest invoice
    return invoice_storno(invoice=inv, lines=lines, as_of=at, user=inv.issuer)


D = Decimal
TODAY = date(2026, 2, 5)


def billed(world, prices, periods=1, first=None):
    """Several clients' contracts starting together, billed ``periods`` times: [(client, [invoices])]."""
    first = first or local(2026, 1, 31)
    made = []
    for price in prices:
        cl = f.client(world.company)
        p = f.product(world.company, unit_price=Decimal(price))
        made.append(
            (
                cl,
                f.contract(
                    world.company, issuer=world.user, client_=cl, lines=[(p, "1")], first=first
                ),
            )
        )
    for _ in range(periods):
        made[0][1].refresh_from_db()
        issue_due(as_of=made[0][1].next_issue_at, company_id=world.company.pk)
    return [(cl, list(Invoice.objects.filter(client=cl).order_by("number"))) for cl, _ in made]


def camt_file(lines, account="RO49AAAA1B31007593840000", day="2026-02-05", currency="RON") -> bytes:
    """A camt.053.001.08 statement of credits: ``lines`` = [(amount, payer name, payer IBAN,
    remittance text, bank reference or "")], balances that add up."""
    from xml.sax.saxutils import escape

    total = sum((Decimal(str(a)) for a, *_ in lines), Decimal(0))
    entries = []
    for amount, name, iban, text, ref in lines:
        acct = f"<DbtrAcct><Id><IBAN>{iban}</IBAN></Id></DbtrAcct>" if iban else ""
        svcr = f"<AcctSvcrRef>{escape(ref)}</AcctSvcrRef>" if ref else ""
        entries.append(
            f'<Ntry><Amt Ccy="{currency}">{Decimal(str(amount)):.2f}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
            f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{day}</Dt></BookgDt>{svcr}<NtryDtls><TxDtls>"
            f"<RltdPties><Dbtr><Pty><Nm>{escape(name)}</Nm></Pty></Dbtr>{acct}</RltdPties>"
            f"<RmtInf><Ustrd>{escape(text)}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
        )
    bal = (
        '<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="{ccy}">{amt:.2f}</Amt>'
        "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>G{day}</MsgId><CreDtTm>{day}T20:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>S{day}</Id><Acct><Id><IBAN>{account}</IBAN></Id></Acct>"
        + bal.format(code="OPBD", ccy=currency, amt=Decimal(0), day=day)
        + bal.format(code="CLBD", ccy=currency, amt=total, day=day)
        + "".join(entries)
        + "</Stmt></BkToCstmrStmt></Document>"
    ).encode()
