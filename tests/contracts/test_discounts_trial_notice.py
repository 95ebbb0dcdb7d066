"""A trial's end is told to the client once, N days before, through the mail outbox."""

from __future__ import annotations

from decimal import Decimal

from recurent.contracts.discounts import discount_add, trial_notices_tick
from recurent.contracts.models import ContractChange, ContractDiscount
from recurent.mail.models import OutboxKind, OutboxMessage
from tests import factories as f
from tests.factories import local


def _notices() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(kind=OutboxKind.NOTICE).order_by("pk"))


def _trial(world, **kw):  # type: ignore[no-untyped-def]
    p = f.product(world.company, unit_price=Decimal("30"), vat_rate="standard")
    c = f.contract(world.company, issuer=world.user, lines=[(p, "1")], first=local(2026, 3, 1))
    discount_add(contract=c, user=world.user, as_of=local(2026, 2, 20), kind="percent",
                 value="100", reason="Probă", trial=True, **kw)  # fmt: skip
    return c


def test_the_client_is_told_once_seven_days_before_the_trial_ends(world):
    c = _trial(world, periods=2)  # March and April free: the trial ends on 30 April
    assert trial_notices_tick(as_of=local(2026, 4, 22)) == 0  # 8 days before: not yet
    assert _notices() == []

    assert trial_notices_tick(as_of=local(2026, 4, 23)) == 1
    assert trial_notices_tick(as_of=local(2026, 4, 24)) == 0  # once
    [m] = _notices()
    assert m.recipients == c.client.emails
    assert "30.04.2026" in m.subject and c.number in m.subject
    assert "01.05.2026" in m.body_text  # the first day at the full price
    assert "probă" in m.body_text  # a Romanian client is written to in Romanian
    assert ContractChange.objects.filter(contract=c, action="trial_noticed").count() == 1
    assert ContractDiscount.objects.get(contract=c).trial_noticed_at is not None


def test_a_trial_until_a_date_ends_with_the_last_period_starting_before_it(world):
    _trial(world, until="2026-04-15")  # periods of 1 March and 1 April start before it
    assert trial_notices_tick(as_of=local(2026, 4, 22)) == 0
    assert trial_notices_tick(as_of=local(2026, 4, 23)) == 1


def test_a_trial_already_over_is_marked_without_a_message(world):
    c = _trial(world, periods=1)
    assert trial_notices_tick(as_of=local(2026, 6, 1)) == 0
    assert _notices() == []
    assert ContractDiscount.objects.get(contract=c).trial_noticed_at is not None
