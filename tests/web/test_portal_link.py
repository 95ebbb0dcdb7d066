"""The portal link (issue 16, item 3): found on the client and contract pages, copied or emailed,
absolute on the configured site address (RECURENT_BASE_URL), in the email as on the page."""

import re

from django.urls import reverse

from recurent.clients import portal_links as links
from recurent.clients.portal_links import client_from_token
from recurent.mail.models import OutboxKind, OutboxMessage


def _links(page: str) -> list[str]:
    return re.findall(r'readonly value="([^"]+/portal/[^"]+)"', page)


def test_client_and_contract_pages_show_the_link_on_the_configured_address(
    admin_client, data, settings
):
    settings.RECURENT_BASE_URL = "https://facturi.example.ro/"
    for url in (
        reverse("web:client", args=[data.client.pk]),
        reverse("web:contract", args=[data.contract.pk]),
    ):
        page = admin_client.get(url).content.decode()
        [link] = _links(page)
        assert link.startswith("https://facturi.example.ro/portal/"), link
        assert "Copiază linkul portalului" in page and "Trimite linkul portalului" in page
        token = link.rstrip("/").rsplit("/", 1)[-1]
        assert client_from_token(token) == data.client.pk


def test_sending_the_link_queues_an_email_to_the_client_with_the_same_address(
    admin_client, data, settings
):
    settings.RECURENT_BASE_URL = "https://facturi.example.ro"
    r = admin_client.post(reverse("web:client-portal-send", args=[data.client.pk]))
    assert r.status_code == 302
    [m] = OutboxMessage.objects.filter(kind=OutboxKind.NOTICE)
    assert m.recipients == data.client.emails
    assert "https://facturi.example.ro/portal/" in m.body_text
    assert "Recurent Demo SRL" in m.subject


def test_the_base_url_comes_from_the_environment_when_not_in_settings(monkeypatch, settings):
    # `recurent serve` sets the environment to the address it listens on.
    monkeypatch.delattr(settings, "RECURENT_BASE_URL", raising=False)
    monkeypatch.setenv("RECURENT_BASE_URL", "http://192.168.1.20:9000")
    assert links.base_url() == "http://192.168.1.20:9000"


def test_a_viewer_sees_the_link_but_cannot_send_it(viewer_client, data):
    page = viewer_client.get(reverse("web:client", args=[data.client.pk])).content.decode()
    assert _links(page) and "Trimite linkul portalului" not in page
    r = viewer_client.post(reverse("web:client-portal-send", args=[data.client.pk]))
    assert r.status_code == 403
