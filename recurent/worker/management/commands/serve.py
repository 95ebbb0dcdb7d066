"""recurent serve: the web app and the billing worker together (for one machine)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Serve the web app on ADDR:PORT (default 127.0.0.1:8000) with a billing worker beside it."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-worker", action="store_true")
        parser.add_argument(
            "--threads", type=int, default=8, help="requests served at once (default 8)"
        )

    def handle(self, *args, **o):  # type: ignore[no-untyped-def]
        worker = None
        # Absolute links (portal, emails) name the address served here unless one is configured.
        os.environ.setdefault("RECURENT_BASE_URL", "http://" + (o["addrport"] if ":" in o["addrport"] else "127.0.0.1:" + o["addrport"]))  # fmt: skip

        def stop(*_):  # type: ignore[no-untyped-def]
            raise KeyboardInterrupt  # so that the finally below stops the worker too

        signal.signal(signal.SIGTERM, stop)
        if not o["no_worker"]:
            # A separate process: the worker's loop never competes with requests for the GIL.
            worker = subprocess.Popen(
                [sys.executable, "-m", "recurent.cli", "worker"], env=os.environ.copy()
            )
            self.stdout.write(f"billing worker started (pid {worker.pid})")
        try:
            call_command("collectstatic", interactive=False, verbosity=0)
            # Waitress, a production WSGI server that needs no fork and runs on any system
            # (docs/decisions/serve-waitress.md): a queue of 1024 connections and a pool of
            # threads, where wsgiref's backlog of 5 reset connections under 60 concurrent POSTs.
            from django.core.wsgi import get_wsgi_application
            from waitress.server import create_server

            host, _, port = o["addrport"].rpartition(":")
            host = host or "127.0.0.1"
            server = create_server(
                get_wsgi_application(),
                host=host.strip("[]"),
                port=int(port),
                threads=o["threads"],
                backlog=1024,
                connection_limit=max(100, o["threads"] * 25),
                ident="Recurent",
            )
            self.stdout.write(f"Recurent on http://{host}:{port}/  (Ctrl+C to stop)")
            self.stdout.flush()
            try:
                server.run()
            finally:
                server.close()
        except KeyboardInterrupt:
            pass
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=30)
