"""Entry point of a worker child process (``recurent worker --processes N``).

Kept free of Django imports at module level: a spawned child unpickles its target by
importing this module before Django is set up, and a models import there would fail.
"""

from __future__ import annotations

import os


def child_main(batch_size: int, max_sleep: float, tasks: bool) -> None:
    import signal
    import threading

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recurent.settings.dev")
    import django

    django.setup()
    from django.db import connection

    from recurent.worker.management.commands.worker import run_loop

    connection.close()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run_loop(stop=stop, batch_size=batch_size, max_sleep=max_sleep, once=False, tasks=tasks)
