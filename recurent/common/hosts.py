"""Which hosts the server may connect to on a company's say-so (SSRF).

Webhook endpoints and SMTP servers are typed in by a company's administrator and connected to by
the server, from inside its network: they must not be a way to reach the database, the admin
interface of a router or a cloud metadata service. Only public internet addresses are allowed,
checked when the address is saved and again before each connection (DNS can change).

A closed installation that talks to its own internal systems (a mail relay on the LAN, an
intranet receiver) sets ``RECURENT_ALLOW_PRIVATE_HOSTS=true``; the older
``RECURENT_WEBHOOKS_ALLOW_PRIVATE`` is honoured too, for SMTP as well as webhooks.
"""

from __future__ import annotations

import ipaddress
import socket

from django.conf import settings

from recurent.settings.base import env_bool


def private_hosts_allowed() -> bool:
    general = getattr(settings, "RECURENT_ALLOW_PRIVATE_HOSTS", None)
    if general is None:
        general = env_bool("RECURENT_ALLOW_PRIVATE_HOSTS", False)
    return bool(general or getattr(settings, "RECURENT_WEBHOOKS_ALLOW_PRIVATE", False))


def non_public_address(host: str) -> str | None:
    """The first non-public address ``host`` resolves to (or why it cannot be used), or None
    when every address is public or private hosts are allowed."""
    if private_hosts_allowed():
        return None
    host = (host or "").strip().strip("[]")
    if not host:
        return "(no host)"
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return f"{host} (does not resolve)"
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        if not ip.is_global or ip.is_multicast:
            return str(ip)
    return None
