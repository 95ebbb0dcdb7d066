"""What runs when, in one place: the issue hooks, event listeners, worker tasks and stored secrets.

Called once, from ``recurent.worker.apps.WorkerConfig.ready`` (the worker app is last in
INSTALLED_APPS, so every model is loaded). Apps do not register themselves in their own
``ready()``: the order below is the order things run, and it matters.

To add a hook, listener, task or secret: add ONE line in the right list below, with the reason
if its place in the order matters. Nothing else registers anything.
"""

from __future__ import annotations

from recurent.common import crypto

# model label -> its encrypted text fields (recurent.common.crypto); `recurent rotate-key`
# rewrites exactly these.
SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "mail.SmtpSettings": ("password_encrypted",),
    "efactura.SpvConnection": ("client_secret_enc", "access_token_enc", "refresh_token_enc"),
    "gateways.GatewayAccount": ("secret_encrypted", "webhook_secret_encrypted"),
    "gateways.CardAgreement": ("token_encrypted",),
}


def wire() -> None:
    crypto.SECRET_FIELDS.update(SECRET_FIELDS)
