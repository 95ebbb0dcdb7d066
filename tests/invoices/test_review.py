"""Review before numbering: the run prepares drafts, a person approves (numbered) or skips them."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import OperationalError, connection

from recurent.companies.models import InvoiceSeries
from recurent.contracts.charges import charge_add
from recurent.contracts.models import ContractCharge
from recurent.invoices.models import Invoice, InvoiceDraft, InvoiceOrigin, ReviewStatus
from recurent.invoices.oneoff import invoice_draft_update, invoice_issue_draft
from recurent.invoices.review import (
    review_approve,
    review_approve_many,
    review_queue,
    review_skip,
    review_stale,
    review_update,
)
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local

RUN_AT = local(2026, 2, 2, 9)  # the contract's first period is due 2026-01-31 09:00
APPROVE_AT = local(2026, 3, 2, 10)  # after every run of these tests (series dates)


def _reviewed(world, **billing):  # type: ignore[no-untyped-def]
    return f.contract(world.company, issuer=world.user, review_before_issue=True, **billing)


def _next_number() -> int:
    return InvoiceSeries.objects.get(code="REC").next_number


def _code(err: ValidationError, field: str) -> str:
    return err.error_dict[field][0].code  # type: ignore[no-any-return]


def test_the_run_prepares_a_draft_not_numbered_and_moves_the_cursor(world):
    c = _reviewed(world)
    result = issue_due(as_of=RUN_AT)
    assert Invoice.objects.count() == 0 and _next_number() == 1
    d = InvoiceDraft.objects.get(contract=c)
    assert d.review_status == ReviewStatus.PENDING and d.invoice_id is None
    assert (d.period_index, d.period_start) == (0, date(2026, 1, 31))
    assert d.created_at == RUN_AT and d.proforma_number == ""
    assert [(li.quantity, li.unit_price) for li in d.lines.all()] == [
        (Decimal("1.0000"), Decimal("100.0000"))
    ]
    c.refresh_from_db()
    assert c.next_index == 1 and c.next_issue_at > RUN_AT
    assert (result.issued, result.reviews) == (0, 1)


def test_a_second_run_at_the_same_instant_prepares_nothing_new(world):
    _reviewed(world)
    issue_due(as_of=RUN_AT)
    issue_due(as_of=RUN_AT)
    assert InvoiceDraft.objects.count() == 1 and Invoice.objects.count() == 0


def test_the_company_option_puts_every_contract_under_review(world):
    world.company.review_before_issue = True
    world.company.save()
    c = f.contract(world.company, issuer=world.user)
    issue_due(as_of=RUN_AT)
    assert Invoice.objects.count() == 0
    assert InvoiceDraft.objects.get().contract_id == c.pk


def test_a_contract_without_the_option_is_invoiced_in_the_same_run(world):
    _reviewed(world)
    plain = f.contract(world.company, issuer=world.user)
    issue_due(as_of=RUN_AT)
    assert Invoice.objects.get().contract_id == plain.pk
    assert review_queue(company_id=world.company.pk).count() == 1


def test_approval_numbers_the_invoice_with_contract_and_period(world):
    c = _reviewed(world, payment_term_days=10)
    issue_due(as_of=RUN_AT)
    d = InvoiceDraft.objects.get(contract=c)
    inv = review_approve(draft=d, as_of=APPROVE_AT, user=world.user)
    assert inv.full_number == "REC-000001" and _next_number() == 2
    assert inv.contract_id == c.pk and inv.origin == InvoiceOrigin.SCHEDULE
    assert (inv.period_index, inv.period_start) == (0, date(2026, 1, 31))
    assert inv.issue_date == date(2026, 3, 2) and inv.due_date == date(2026, 3, 12)
    assert inv.gross_total == Decimal("121.00")
    d.refresh_from_db()
    assert d.invoice_id == inv.pk and d.review_status == ReviewStatus.APPROVED
    assert d.reviewed_by_id == world.user.pk and d.reviewed_at == APPROVE_AT
    assert review_queue(company_id=world.company.pk).count() == 0


def test_approvals_number_in_order_and_without_gaps_across_contracts(world):
    a, b = _reviewed(world), _reviewed(world)
    issue_due(as_of=local(2026, 3, 1, 9))  # a and b: periods of 31 Jan and 28 Feb each
    drafts = list(review_queue(company_id=world.company.pk))
    assert len(drafts) == 4
    result = review_approve_many(drafts=list(reversed(drafts)), as_of=APPROVE_AT, user=world.user)
    assert result.errors == []
    numbers = [(i.contract_id, i.period_start, i.number) for i in result.invoices]
    assert [n for _, _, n in numbers] == [1, 2, 3, 4]
    # Each contract's periods got its numbers in their order.
    for c in (a, b):
        starts = [s for cid, s, _ in numbers if cid == c.pk]
        assert starts == [date(2026, 1, 31), date(2026, 2, 28)]


def test_a_later_period_waits_for_the_earlier_one(world):
    c = _reviewed(world)
    issue_due(as_of=local(2026, 3, 1, 9))
    first, second = InvoiceDraft.objects.filter(contract=c).order_by("period_start")
    with pytest.raises(ValidationError) as e:
        review_approve(draft=second, as_of=APPROVE_AT, user=world.user)
    assert _code(e.value, "draft") == "earlier_pending"
    assert Invoice.objects.count() == 0 and _next_number() == 1
    review_skip(draft=first, as_of=APPROVE_AT, user=world.user)
    assert review_approve(draft=second, as_of=APPROVE_AT, user=world.user).number == 1


def test_double_approval_issues_once(world):
    _reviewed(world)
    issue_due(as_of=RUN_AT)
    d = InvoiceDraft.objects.get()
    review_approve(draft=d, as_of=APPROVE_AT, user=world.user)
    with pytest.raises(ValidationError) as e:
        review_approve(draft=d, as_of=APPROVE_AT, user=world.user)
    assert _code(e.value, "draft") == "issued"
    assert Invoice.objects.count() == 1 and _next_number() == 2


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_approving_at_once_issue_one_invoice(world):
    _reviewed(world)
    issue_due(as_of=RUN_AT)
    d = InvoiceDraft.objects.get()
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def approve() -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(1000):
                try:
                    review_approve(draft=d, as_of=APPROVE_AT, user=world.user)
                    break
                except OperationalError as e:
                    # SQLite's in-memory test database has table locks that do not wait (the
                    # file database of production waits): wait here the same way.
                    assert "locked" in str(e)
                    time.sleep(0.01)
            outcomes.append("ok")
        except ValidationError as e:
            outcomes.append(_code(e, "draft"))
        finally:
            connection.close()

    threads = [threading.Thread(target=approve) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["issued", "ok"]  # the second saw the first's invoice
    assert Invoice.objects.count() == 1 and _next_number() == 2


def test_skipping_leaves_no_number_and_the_next_approval_follows_on(world):
    a, b = _reviewed(world), _reviewed(world)
    issue_due(as_of=RUN_AT)
    da, db_ = InvoiceDraft.objects.get(contract=a), InvoiceDraft.objects.get(contract=b)
    skipped = review_skip(draft=da, as_of=APPROVE_AT, user=world.user)
    assert skipped.review_status == ReviewStatus.SKIPPED and skipped.invoice_id is None
    assert Invoice.objects.count() == 0 and _next_number() == 1
    assert review_approve(draft=db_, as_of=APPROVE_AT, user=world.user).number == 1
    with pytest.raises(ValidationError) as e:
        review_approve(draft=da, as_of=APPROVE_AT, user=world.user)
    assert _code(e.value, "draft") == "skipped"
    assert Invoice.objects.count() == 1 and _next_number() == 2


def test_edited_quantities_and_notes_are_what_the_invoice_says(world):
    _reviewed(world)
    issue_due(as_of=RUN_AT)
    d = InvoiceDraft.objects.get()
    review_update(draft=d, as_of=APPROVE_AT, quantities={1: "2.5"}, notes=" usage of March ")
    inv = review_approve(draft=d, as_of=APPROVE_AT, user=world.user)
    assert inv.lines.get().quantity == Decimal("2.5000")
    assert inv.net_total == Decimal("250.00") and inv.notes == "usage of March"


@pytest.mark.parametrize(
    ("quantities", "field", "code"),
    [
        ({1: "0"}, "lines[1].quantity", "not_positive"),
        ({1: "abc"}, "lines[1].quantity", "not_a_number"),
        ({7: "1"}, "lines[7].quantity", "no_line"),
    ],
)
def test_a_bad_quantity_is_refused_by_its_line_and_nothing_changes(world, quantities, field, code):
    _reviewed(world)
    issue_due(as_of=RUN_AT)
    d = InvoiceDraft.objects.get()
    with pytest.raises(ValidationError) as e:
        review_update(draft=d, as_of=APPROVE_AT, quantities=quantities, notes="changed")
    assert _code(e.value, field) == code
    d.refresh_from_db()
    assert d.notes == "" and d.lines.get().quantity == Decimal("1.0000")


def test_an_approved_or_skipped_draft_cannot_be_edited(world):
    _reviewed(world)
    issue_due(as_of=RUN_AT)
    d = InvoiceDraft.objects.get()
    review_skip(draft=d, as_of=APPROVE_AT, user=world.user)
    with pytest.raises(ValidationError) as e:
        review_update(draft=d, as_of=APPROVE_AT, notes="x")
    assert _code(e.value, "draft") == "skipped"


def test_a_one_off_charge_goes_on_the_approved_invoice_once(world):
    c = _reviewed(world)
    ch = charge_add(contract=c, user=world.user, as_of=local(2026, 1, 20), description="Setup",
                    quantity="1", unit_price="50")  # fmt: skip
    issue_due(as_of=local(2026, 3, 1, 9))  # two periods prepared: the charge on the first only
    first, second = InvoiceDraft.objects.filter(contract=c).order_by("period_start")
    assert [li.name for li in first.lines.all()][-1] == "Setup"
    assert "Setup" not in [li.name for li in second.lines.all()]
    inv = review_approve(draft=first, as_of=APPROVE_AT, user=world.user)
    assert inv.net_total == Decimal("150.00")
    assert ContractCharge.objects.get(pk=ch.pk).invoice_id == inv.pk


def test_a_skipped_draft_leaves_its_charge_for_the_next_period(world):
    c = _reviewed(world)
    charge_add(contract=c, user=world.user, as_of=local(2026, 1, 20), description="Setup",
               quantity="1", unit_price="50")  # fmt: skip
    issue_due(as_of=RUN_AT)
    review_skip(draft=InvoiceDraft.objects.get(contract=c), as_of=APPROVE_AT, user=world.user)
    issue_due(as_of=local(2026, 3, 1, 9))
    nxt = InvoiceDraft.objects.get(contract=c, review_status=ReviewStatus.PENDING)
    assert nxt.period_start == date(2026, 2, 28)
    assert "Setup" in [li.name for li in nxt.lines.all()]


def test_drafts_waiting_longer_than_the_company_allows_are_reported(world):
    world.company.review_stale_days = 3
    world.company.save()
    c = _reviewed(world)
    issue_due(as_of=RUN_AT)
    d = InvoiceDraft.objects.get(contract=c)
    assert list(review_stale(company=world.company, as_of=RUN_AT + timedelta(days=3))) == []
    stale = review_stale(company=world.company, as_of=RUN_AT + timedelta(days=3, minutes=1))
    assert list(stale) == [d]
    review_approve(draft=d, as_of=APPROVE_AT, user=world.user)
    assert list(review_stale(company=world.company, as_of=RUN_AT + timedelta(days=30))) == []


def test_the_one_off_paths_neither_issue_nor_change_a_draft_under_review(world):
    _reviewed(world)
    issue_due(as_of=RUN_AT)
    d = InvoiceDraft.objects.get()
    with pytest.raises(ValidationError) as e:
        invoice_issue_draft(draft=d, as_of=APPROVE_AT, user=world.user)
    assert _code(e.value, "draft") == "under_review"
    with pytest.raises(ValidationError) as e:
        invoice_draft_update(draft=d, as_of=APPROVE_AT, notes="x")
    assert _code(e.value, "draft") == "under_review"
    review_skip(draft=d, as_of=APPROVE_AT, user=world.user)
    with pytest.raises(ValidationError) as e:
        invoice_issue_draft(draft=d, as_of=APPROVE_AT, user=world.user)
    assert _code(e.value, "draft") == "under_review"
    assert Invoice.objects.count() == 0 and _next_number() == 1


def test_the_import_format_carries_the_option_and_refuses_a_non_boolean(db):
    import copy
    import json
    from pathlib import Path

    from recurent.contracts.importing import ImportFailed, import_data
    from recurent.contracts.models import Contract

    example = json.loads(
        (Path(__file__).resolve().parents[2] / "docs" / "examples" / "import.json").read_text()
    )
    u = f.user("boss", is_superuser=True)
    bad = copy.deepcopy(example)
    bad["contracts"][0].update(review_before_issue="maybe")
    with pytest.raises(ImportFailed) as e:
        import_data(bad, user=u)
    assert "review_before_issue" in " ".join(w for w, _ in e.value.errors)
    data = copy.deepcopy(example)
    data["contracts"][0].update(review_before_issue=True)
    import_data(data, user=u)
    assert Contract.objects.get(number=data["contracts"][0]["number"]).review_before_issue
    assert not Contract.objects.get(number=data["contracts"][1]["number"]).review_before_issue


def test_changing_the_option_is_kept_in_the_contract_history(world):
    from recurent.contracts.services import contract_update

    c = f.contract(world.company, issuer=world.user)
    contract_update(contract=c, user=world.user, review_before_issue=True)
    c.refresh_from_db()
    assert c.review_before_issue
    change = c.changes.order_by("-pk").first()
    assert change.changes["review_before_issue"] == [False, True]


def test_recurent_bill_says_how_many_drafts_wait_for_review(world):
    import io

    from django.core.management import call_command

    _reviewed(world)
    out = io.StringIO()
    call_command("bill", "--as-of", RUN_AT.isoformat(), stdout=out)
    assert "issued 0 invoice(s)" in out.getvalue()
    assert "prepared 1 draft(s) waiting for review" in out.getvalue()


def test_a_draft_under_review_is_not_sent_as_a_proforma(world):
    from recurent.documents.proforma import render
    from recurent.invoices.proforma import proforma_issue

    _reviewed(world)
    issue_due(as_of=RUN_AT)
    d = InvoiceDraft.objects.get()
    with pytest.raises(ValidationError) as e:
        proforma_issue(draft=d, as_of=APPROVE_AT, user=world.user, render=render)
    assert _code(e.value, "draft") == "under_review"
    d.refresh_from_db()
    assert d.proforma_number == ""


def test_a_charge_invoiced_meanwhile_refuses_the_approval_and_takes_no_number(world):
    from recurent.contracts.services import contract_update

    c = _reviewed(world)
    charge_add(contract=c, user=world.user, as_of=local(2026, 1, 20), description="Setup",
               quantity="1", unit_price="50")  # fmt: skip
    issue_due(as_of=RUN_AT)
    d = InvoiceDraft.objects.get(contract=c)
    contract_update(contract=c, user=world.user, review_before_issue=False)
    issue_due(as_of=local(2026, 3, 1, 9))  # the next period invoiced directly, with the charge
    direct = Invoice.objects.get()
    assert direct.net_total == Decimal("150.00")
    with pytest.raises(ValidationError) as e:
        review_approve(draft=d, as_of=APPROVE_AT, user=world.user)
    assert _code(e.value, "draft") == "charges_changed"
    d.refresh_from_db()
    assert d.review_status == ReviewStatus.PENDING and Invoice.objects.count() == 1
    assert _next_number() == 2
