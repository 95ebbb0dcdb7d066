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
