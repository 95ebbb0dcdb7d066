"""The contract page's Discounts section: the list in words, the form, add and remove.

The rules live in contracts.discounts (checks, audit) and engine.discounts (pricing); this
module only turns the form into the service's arguments and the rows into words."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from recurent.common import clock
from recurent.contracts import discounts as discount_services
from recurent.contracts.models import Contract, ContractDiscount, ContractStatus, DiscountKind
from recurent.web.forms import DateInput


class DiscountForm(forms.Form):
    """A discount or a trial (contracts.discounts.discount_add checks it and names the field)."""

    kind = forms.ChoiceField(label=gettext_lazy("kind"), choices=DiscountKind.choices)
    value = forms.CharField(label=gettext_lazy("percentage or amount"), max_length=30)
    reason = forms.CharField(label=gettext_lazy("reason printed on the invoice"), max_length=100)
    line_position = forms.ChoiceField(label=gettext_lazy("on"), required=False)
    from_period = forms.IntegerField(
        label=gettext_lazy("from invoice no."), min_value=1, required=False,
        help_text=gettext_lazy("empty: from the next invoice"),
    )  # fmt: skip
    periods = forms.IntegerField(
        label=gettext_lazy("for how many invoices"), min_value=1, required=False
    )
    until = forms.DateField(
        label=gettext_lazy("for periods starting before"), required=False,
        widget=DateInput(),
    )  # fmt: skip
    trial = forms.BooleanField(label=gettext_lazy("trial period"), required=False)

    def __init__(self, *args: Any, contract: Contract, **kw: Any) -> None:
        super().__init__(*args, **kw)
        lines = contract.lines.select_related("product").order_by("position", "pk")
        on = self.fields["line_position"]
        assert isinstance(on, forms.ChoiceField)
        on.choices = [("", _("the whole contract"))] + [
            (str(li.position), f"{li.position} · {li.description or li.product.name}")
            for li in lines
            if li.until_index is None
        ]


def discount_action(request: HttpRequest, contract: Contract, action: str) -> None:
    """``discount-add`` / ``discount-remove``; a refusal propagates as the ValidationError the
    contract page shows."""
    user: Any = request.user
    if action == "discount-add":
        post = request.POST
        start = (post.get("from_period") or "").strip()
        discount_services.discount_add(
            contract=contract, user=user, as_of=clock.now(),
            kind=post.get("kind", ""), value=post.get("value", ""),
            reason=post.get("reason", ""), line_position=post.get("line_position") or None,
            # The page counts invoices from 1 (as "Next issue dates" does); the model from 0.
            from_index=int(start) - 1 if start.lstrip("-").isdigit() else (start or None),
            periods=post.get("periods") or None, until=post.get("until") or None,
            trial=post.get("trial") in {"on", "true", "1"},
        )  # fmt: skip
        messages.success(request, _("Discount added: the next invoices show it."))
    else:
        d = get_object_or_404(ContractDiscount, pk=request.POST.get("discount") or 0,
                              contract=contract)  # fmt: skip
        discount_services.discount_remove(discount=d, user=user, as_of=clock.now())
        messages.success(request, _("Discount removed from the invoices not yet issued."))


def discount_rows(contract: Contract) -> list[dict[str, Any]]:
    """The contract's discounts in words, in the order they apply."""
    rows = []
    for d in discount_services.discounts_of(contract=contract):
        value = f"{d.value.normalize():f}"
        ends = discount_services.discount_ends_on(contract, d)
        rows.append({
            "pk": d.pk,
            "what": f"{value} %" if d.kind == DiscountKind.PERCENT else f"{value} {contract.currency}",
            "on": _("line %(n)s") % {"n": d.line_position} if d.line_position else _("the whole contract"),
            "from": d.from_index + 1,
            "count": d.periods,
            "ends": date_format(ends, "SHORT_DATE_FORMAT") if ends else "",
            "trial": d.trial,
            "reason": d.reason,
        })  # fmt: skip
    return rows


def discount_context(contract: Contract) -> dict[str, Any]:
    closed = contract.status in {ContractStatus.CANCELLED, ContractStatus.ENDED}
    return {
        "discounts": discount_rows(contract),
        "discount_form": None if closed else DiscountForm(contract=contract),
    }
