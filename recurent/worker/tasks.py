"""Background work the worker runs after each billing pass, registered by the apps.

Each task is ``fn(*, limit: int) -> int`` (how many items it handled); the tasks and their
order are listed in ``recurent/wiring.py`` (add one there). The worker loop calls them in that
order, each in its own try/except so one failing task never stops billing.
"""

from __future__ import annotations

from collections.abc import Callable

Task = Callable[..., int]
TASKS: list[tuple[str, Task]] = []


def register(name: str, fn: Task) -> None:
    if all(n != name for n, _ in TASKS):
        TASKS.append((name, fn))
