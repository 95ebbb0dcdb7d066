"""A contract with a saved card, through the stand-ins."""

from __future__ import annotations

from datetime import timedelta

from recurent.common import crypto
from recurent.gateways.models import CardAgreement, ChargeAttempt
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests.payments.helpers import issued


def with_card(world, account, fake, behavior="ok", exp=(12, 2030), **contract_kw):
    """A contract billed once (January), then a card agreement on it: (client, contract)."""
    cl, [first] = issued(world, **contract_kw)
    if account.provider == "stripe":
        customer, token = fake.saved_card(behavior, exp=exp)
    else:
        customer, token = "", f"tok_saved_{behavior}"
        fake.behavior[token] = behavior
    CardAgreement.objects.create(
        company=world.company, contract=first.contract, client=cl, account=account,
        consent_text="I agree", consented_at=first.issued_at, consent_ip="127.0.0.1",
        client_name="Ana Pop", customer_ref=customer, token_encrypted=crypto.encrypt(token),
        brand="visa", last4="4242", exp_month=exp[0], exp_year=exp[1],
    )  # fmt: skip
    return cl, first.contract


def issue_next(contract):
    """Issue the contract's next invoice: (invoice, the instant it was issued)."""
    contract.refresh_from_db()
    at = contract.next_issue_at
    issue_due(as_of=at, company_id=contract.company_id)
    inv = Invoice.objects.filter(contract=contract).order_by("-number").first()
    return inv, at


def attempts(inv):
    return list(ChargeAttempt.objects.filter(invoice=inv).order_by("attempt"))


def later(at, **kw):
    return at + timedelta(**kw)
