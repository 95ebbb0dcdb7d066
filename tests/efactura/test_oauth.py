"""Connecting a company to SPV: authorise, exchange the code, refresh with rotation, revoked tokens."""

from __future__ import annotations

import logging
import urllib.parse
from datetime import timedelta

import pytest

from recurent.efactura.connection import (
    NeedsReconnect,
    connection_access_token,
    connection_configure,
)
from recurent.efactura.models import ConnectionStatus, SpvConnection
from tests.factories import local


def test_the_full_authorisation_code_flow_through_the_views(client, world, anaf):
    client.force_login(world.user)
    r = client.post("/efactura/", {"environment": "test", "client_id": anaf.client_id,
                                   "client_secret": anaf.client_secret, "deadline_days": "3"})  # fmt: skip
    assert r.status_code == 302
    # Given the user asks to connect, they are sent to ANAF's authorize page.
    r = client.post("/efactura/connect/")
    assert r.status_code == 302
    url = urllib.parse.urlsplit(r["Location"])
    q = dict(urllib.parse.parse_qsl(url.query))
    assert r["Location"].startswith(anaf.base + "/anaf-oauth2/v1/authorize?")
    assert q["client_id"] == anaf.client_id and q["response_type"] == "code"
    assert (
        q["token_content_type"] == "jwt"
        and q["redirect_uri"] == "http://testserver/efactura/callback/"
    )
    # When ANAF sends them back with a code, the code is exchanged with HTTP Basic client auth.
    r = client.get("/efactura/callback/", {"code": anaf.new_code(), "state": q["state"]})
    assert r.status_code == 302
    conn = SpvConnection.objects.get(company=world.company)
    assert conn.status == ConnectionStatus.CONNECTED
    req = anaf.token_requests[-1]
    assert req["grant_type"] == "authorization_code" and req["token_content_type"] == "jwt"
    assert req["auth"].startswith("Basic ")
    # Tokens and secret are stored encrypted, never in clear.
    assert conn.access_token in anaf.access
    assert conn.access_token not in conn.access_token_enc
    assert anaf.client_secret not in conn.client_secret_enc
    assert conn.refresh_token not in conn.refresh_token_enc
    assert anaf.client_secret not in repr(conn)


def test_a_callback_with_a_foreign_state_is_refused(client, world, anaf):
    client.force_login(world.user)
    connection_configure(
        company=world.company, environment="test", client_id="c", client_secret="s"
    )
    client.post("/efactura/connect/")
    r = client.get("/efactura/callback/", {"code": anaf.new_code(), "state": "forged"})
    assert r.status_code == 400
    assert SpvConnection.objects.get(company=world.company).status == ConnectionStatus.NOT_CONNECTED


def test_a_viewer_cannot_configure_nor_connect(client, world, anaf):
    from recurent.companies.services import membership_grant
    from tests import factories as f

    viewer = f.user()
    membership_grant(user=viewer, company=world.company, role="viewer")
    client.force_login(viewer)
    assert client.post("/efactura/connect/").status_code == 403


def test_the_token_is_refreshed_before_it_expires_and_the_rotation_is_stored(
    world, anaf, connected
):
    first_access, first_refresh = connected.access_token, connected.refresh_token
    # Far from expiry: the stored token is used, ANAF is not asked.
    assert (
        connection_access_token(company_id=world.company.pk, as_of=local(2026, 2, 1))
        == first_access
    )
    assert len(anaf.token_requests) == 1
    # Within the margin before expiry: refreshed, both tokens rotated and persisted.
    near = connected.access_expires_at - timedelta(hours=1)
    new = connection_access_token(company_id=world.company.pk, as_of=near)
    assert new != first_access and new in anaf.access
    conn = SpvConnection.objects.get(pk=connected.pk)
    assert conn.access_token == new and conn.refresh_token != first_refresh
    assert first_refresh not in anaf.refresh  # ANAF rotated it: the old one is dead
    assert conn.access_expires_at > near + timedelta(days=80)
    # A second worker asking at the same instant gets the fresh token without a new refresh.
    assert connection_access_token(company_id=world.company.pk, as_of=near) == new
    assert [r["grant_type"] for r in anaf.token_requests] == ["authorization_code", "refresh_token"]


def test_a_revoked_refresh_token_puts_the_company_in_reconnect_state(
    world, anaf, connected, caplog
):
    anaf.refresh.clear()  # revoked at ANAF
    near = connected.access_expires_at - timedelta(hours=1)
    with caplog.at_level(logging.DEBUG), pytest.raises(NeedsReconnect):
        connection_access_token(company_id=world.company.pk, as_of=near)
    conn = SpvConnection.objects.get(pk=connected.pk)
    assert conn.status == ConnectionStatus.RECONNECT
    assert "invalid_grant" in conn.status_reason
    assert conn.refresh_token_enc == "" and conn.access_token_enc == ""
    assert anaf.client_secret not in caplog.text and "refresh-" not in caplog.text
    # Nothing more is attempted at ANAF until someone reconnects.
    with pytest.raises(NeedsReconnect):
        connection_access_token(company_id=world.company.pk, as_of=near)
    assert len(anaf.token_requests) == 2


def test_a_refresh_token_past_its_lifetime_needs_a_reconnect_without_calling_anaf(
    world, anaf, connected
):
    with pytest.raises(NeedsReconnect):
        connection_access_token(company_id=world.company.pk, as_of=local(2027, 2, 1))
    assert len(anaf.token_requests) == 1
    assert SpvConnection.objects.get(pk=connected.pk).status == ConnectionStatus.RECONNECT


def test_anaf_down_during_an_early_refresh_keeps_the_still_valid_token(world, anaf, connected):
    anaf.script("token", (503, "text/html", b"<html>Service Unavailable</html>"))
    near = connected.access_expires_at - timedelta(hours=1)
    assert (
        connection_access_token(company_id=world.company.pk, as_of=near) == connected.access_token
    )
    assert SpvConnection.objects.get(pk=connected.pk).status == ConnectionStatus.CONNECTED


def test_changing_the_anaf_application_asks_for_a_new_authorisation(world, anaf, connected):
    connection_configure(company=world.company, environment="prod", client_id=anaf.client_id)
    conn = SpvConnection.objects.get(pk=connected.pk)
    assert conn.status == ConnectionStatus.RECONNECT and conn.access_token_enc == ""
    assert conn.client_secret == anaf.client_secret
