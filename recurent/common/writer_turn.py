"""A person's write gets its turn during a big billing run on SQLite (issue 22).

SQLite has one writer at a time and no queue. A billing run writes block after block; between
two blocks it takes the lock again at once, while a person's write (a web "issue now", a storno,
a payment) waits in SQLite's busy handler, which polls every 100 ms: it usually loses the race
and waited up to 4.7 s. So a person's write announces itself, with a shared ``flock`` on a file
beside the database held while it waits and writes; the run, between its blocks, yields while
any announcement is held (an exclusive non-blocking ``flock`` fails), for at most ``MAX_YIELD``
seconds: long enough for the waiting writer's busy handler (it sleeps at most 100 ms) to take
the lock; the run's next BEGIN then waits for that write to commit. The person waits for the
block under way, not for the whole run; a stream of requests slows a run by at most
``MAX_YIELD`` a block. A run started inside a person's request (the same thread) does not
wait for its own announcement.

PostgreSQL has row locks and a fair lock queue: both calls do nothing there. So does an
in-memory SQLite database (one process).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

MAX_YIELD = 0.3  # seconds a run waits for people between two blocks, at most
_mine = threading.local()  # depth of by_hand() in this thread


def _turn_file() -> str | None:
    if connection.vendor != "sqlite":
        return None
    name = str(connection.settings_dict["NAME"])
    if not name or name == ":memory:" or name.startswith("file::memory:") or "mode=memory" in name:
        return None
    return f"{name}-turn"


@contextmanager
def by_hand() -> Iterator[None]:
    """Around a person's write: the billing run lets it through between two of its blocks."""
    path = _turn_file()
    if path is None:
        yield
        return
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    _mine.depth = getattr(_mine, "depth", 0) + 1
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        _mine.depth -= 1
        os.close(fd)  # releases the lock


def yield_to_people(max_wait: float = MAX_YIELD) -> float:
    """Between two blocks of a run: wait while a person's write is announced. Returns the
    seconds waited."""
    path = _turn_file()
    if path is None or getattr(_mine, "depth", 0) > 0:
        return 0.0
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    start = time.monotonic()
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return time.monotonic() - start
            except BlockingIOError:
                if time.monotonic() - start >= max_wait:
                    return time.monotonic() - start
                time.sleep(0.005)
    finally:
        os.close(fd)
