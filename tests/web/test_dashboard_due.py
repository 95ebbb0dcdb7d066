"""The dashboard's "due in the next 30 days" counts exactly what the schedules will issue."""

from __future__ import annotations

from datetime import timedelta
from itertools import islice

from recurent.contracts.models import Contract
from recurent.web.views.dashboard import due_next
from tests import factories as f
from tests.factories import local


def _walk(company_id, now, until) -> int:
    """Every period of every active contract, one by one (the slow, obvious count)."""
    n = 0
    for c in Contract.objects.filter(company_id=company_id, status="active"):
        for p in islice(c.schedule().periods(c.next_index), 1000):
            if p.issue_at > until:
                break
            n += 1
    return n


def test_the_count_matches_a_walk_over_every_period(world):
    # Given contracts of every kind: weekly, every 10 days, monthly (one late by two months),
    # quarterly, one ending inside the window, one cancelled at the end of its period
    now = local(2026, 3, 20, 12, 0)
    first = local(2026, 1, 31, 9, 0)
    made = [
        f.contract(world.company, issuer=world.user, first=first, cycle="weekly"),
        f.contract(world.company, issuer=world.user, first=first, cycle="days", every_days=10),
        f.contract(world.company, issuer=world.user, first=first, cycle="monthly"),
        f.contract(world.company, issuer=world.user, first=local(2026, 4, 5, 9), cycle="monthly"),
        f.contract(world.company, issuer=world.user, first=local(2026, 3, 1, 9), cycle="quarterly"),
        f.contract(world.company, issuer=world.user, first=local(2026, 3, 25, 9), cycle="weekly",
                   ends_at=local(2026, 4, 5, 0)),
        f.contract(world.company, issuer=world.user, first=local(2026, 4, 30, 9)),  # outside
    ]  # fmt: skip
    weekly_final = f.contract(
        world.company, issuer=world.user, first=local(2026, 3, 21, 9), cycle="weekly"
    )
    Contract.objects.filter(pk=weekly_final.pk).update(final_index=1)
    assert len(made) == 7
    until = now + timedelta(days=30)
    # When the dashboard counts
    count, upcoming = due_next(world.company.pk, now)
    # Then it agrees with the walk, and lists the earliest issues in order
    assert count == _walk(world.company.pk, now, until)
    assert count > len(made)  # short cycles and the late contract add periods
    ats = [u["at"] for u in upcoming]
    assert ats == sorted(ats) and len(ats) == min(15, count)
    assert upcoming[0]["late"]  # the contracts that fell due on 31 January
