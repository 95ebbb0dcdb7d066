"""``recurent rotate-key``: encrypt every stored secret again with the first configured key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from recurent.common.crypto import secrets_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret (SMTP passwords, ANAF tokens, provider keys) with the first "
        "key of RECURENT_ENCRYPTION_KEY. Put the new key first (new,old), run this, then drop old."
    )

    def handle(self, *args: Any, **opts: Any) -> None:
        unreadable_total = 0
        for label, (rewritten, unreadable) in secrets_reencrypt().items():
            unreadable_total += unreadable
            line = f"{label}: {rewritten} re-encrypted"
            if unreadable:
                line += f", {unreadable} unreadable with the configured keys (left as they are)"
            self.stdout.write(line)
        if unreadable_total:
            # Not an error of the command: those secrets were already lost; say so loudly.
            self.stderr.write(
                f"{unreadable_total} secret(s) could not be read: enter them again "
                "(SMTP password) or reconnect to SPV."
            )
