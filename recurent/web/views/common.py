"""Helpers shared by the web views: lists (search, sort, paginate) and service errors on forms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

PAGE_SIZE = 25


def paginate(request: HttpRequest, qs: Any, per_page: int = PAGE_SIZE) -> Page[Any]:
    # Two queries per list page: the count and the rows.
    return Paginator(qs, per_page).get_page(request.GET.get("page"))


class DeferredRows:
    """What a Paginator pages through when each row is costly to compute (payment state: two
    correlated subqueries per invoice).

    The count and the page's primary keys come from the plain, ordered query; only the page's
    rows are then loaded with ``load`` (a "deferred join"), so page 2,000 does not compute the
    expensive columns for the 50,000 rows it skips. ``cap``: count at most that many rows (for
    filters that must compute the expensive columns to decide), shown as "cap+".
    """

    def __init__(
        self,
        keys: QuerySet[Any],
        load: Callable[[list[int]], QuerySet[Any]],
        cap: int | None = None,
    ) -> None:
        self.keys, self.load, self.cap = keys, load, cap
        self.capped = False
        self._count: int | None = None

    def count(self) -> int:
        if self._count is None:
            if self.cap is None:
                self._count = self.keys.count()
            else:
                self._count = self.keys.order_by()[: self.cap + 1].count()
                if self._count > self.cap:
                    self._count, self.capped = self.cap, True
        return self._count

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, s: slice) -> list[Any]:
        ids = list(self.keys.values_list("pk", flat=True)[s])
        rows = {r.pk: r for r in self.load(ids)}
        return [rows[i] for i in ids if i in rows]


def sort(
    request: HttpRequest, qs: QuerySet[Any], allowed: dict[str, str], default: str
) -> tuple[QuerySet[Any], str]:
    """``?sort=name`` or ``?sort=-name`` among ``allowed`` (public key -> ORM field)."""
    key = request.GET.get("sort") or default
    desc = key.startswith("-")
    field = allowed.get(key.lstrip("-"))
    if field is None:
        key, desc, field = default, default.startswith("-"), allowed[default.lstrip("-")]
    return qs.order_by(("-" if desc else "") + field, "-pk" if desc else "pk"), key


def apply_errors(form: forms.BaseForm, err: ValidationError) -> None:
    """Put a service's ValidationError next to the matching fields (the rest above the form).

    The services' messages are coded and lazy: they render in the active language here.
    """
    if hasattr(err, "error_dict"):
        for field, errors in err.message_dict.items():
            target = field if field in form.fields else None
            for message in errors:
                text = str(message)
                if target is None and field != "__all__":
                    text = f"{field}: {text}"
                form.add_error(target, text)
    else:
        for message in err.messages:
            form.add_error(None, message)


def error_text(err: ValidationError) -> str:
    if hasattr(err, "error_dict"):
        return "; ".join(str(m) for errs in err.message_dict.values() for m in errs)
    return "; ".join(str(m) for m in err.messages)
