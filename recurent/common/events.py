"""Domain events, delivered to listeners inside the caller's transaction.

Not Django signals: an event is emitted explicitly by the service that changes state
(``events.emit(...)`` next to the write), and listeners only write rows (webhook
deliveries, notifications) in the same transaction, so an event exists exactly when
the change that caused it was committed.

Event types: invoice.issued, invoice.paid, invoice.overdue, invoice.cancelled,
efactura.accepted, efactura.rejected, contract.created, contract.cancelled,
contract.changed, payment.received.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Listener = Callable[[int, str, dict[str, Any]], None]
_listeners: list[Listener] = []


def listen(fn: Listener) -> Listener:
    if fn not in _listeners:
        _listeners.append(fn)
    return fn


def emit(company_id: int, event_type: str, payload: dict[str, Any]) -> None:
    for fn in list(_listeners):
        fn(company_id, event_type, payload)


def emit_many(items: list[tuple[int, str, dict[str, Any]]]) -> None:
    """Several events of one change at once (a bank statement's payments). A listener that has a
    batch form (its ``many`` attribute, ``many(items)``) gets them in one call, e.g. one query
    for thousands of webhook deliveries; any other listener gets them one by one, in order."""
    if not items:
        return
    for fn in list(_listeners):
        many = getattr(fn, "many", None)
        if many is not None:
            many(items)
        else:
            for company_id, event_type, payload in items:
                fn(company_id, event_type, payload)
