"""``recurent send-mail``: deliver the queued emails now (the worker also does it)."""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand
from tqdm import tqdm

from recurent.common import clock
from recurent.mail.selectors import pending_count
from recurent.mail.sender import send_pending
from recurent.mail.services import reminders_queue


class Command(BaseCommand):
    help = "Send queued invoice emails and reminders over each company's SMTP server."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch", type=int, default=100, help="messages per pass")
        parser.add_argument("--limit", type=int, default=0, help="stop after this many (0: all)")
        parser.add_argument("--reminders", action="store_true", help="queue due reminders first")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        stopping = False

        def _stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True  # finish the message in flight, then exit

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        if opts["reminders"]:
            n = reminders_queue(limit=100_000)
            self.stdout.write(f"{n} reminders queued")
        total = pending_count(as_of=clock.now())
        if opts["limit"]:
            total = min(total, opts["limit"])
        bar = tqdm(total=total, unit="msg", disable=opts["no_progress"], file=self.stderr._out)
        done = 0
        while not stopping:
            want = opts["batch"] if not opts["limit"] else min(opts["batch"], opts["limit"] - done)
            if want <= 0:
                break
            n = send_pending(limit=want, stop=lambda: stopping, progress=bar.update)
            done += n
            if n == 0:
                break
        bar.close()
        self.stdout.write(f"{done} messages attempted")
