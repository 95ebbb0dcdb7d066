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

    def handle(self, *args, **o):  # type: ignore[no-untyped-def]
        worker = None

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
            from wsgiref.simple_server import WSGIRequestHandler, make_server

            from django.core.wsgi import get_wsgi_application

            host, _, port = o["addrport"].rpartition(":")
            host = host or "127.0.0.1"
            app = get_wsgi_application()

            class QuietHandler(WSGIRequestHandler):
                def log_message(self, format, *args):  # type: ignore[no-untyped-def]  # noqa: A002
                    pass

            from socketserver import ThreadingMixIn
            from wsgiref.simple_server import WSGIServer

            class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
                daemon_threads = True

            httpd = make_server(
                host, int(port), app, server_class=ThreadingWSGIServer, handler_class=QuietHandler
            )
            self.stdout.write(f"Recurent on http://{host}:{port}/  (Ctrl+C to stop)")
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=30)
