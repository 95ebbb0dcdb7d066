"""Administrators manage who works in the company and the company's API tokens."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse

from recurent.common import clock
from recurent.companies.api_tokens import api_token_authenticate
from recurent.companies.models import ApiToken, Membership, Role
from recurent.companies.services import membership_grant
from tests import factories as f


def test_an_invited_person_gets_an_email_link_to_choose_a_password(admin_client, world, client):
    # When the admin invites a new person as accountant
    r = admin_client.post(
        reverse("web:users"),
        {"email": "Ana@Firma.ro", "first_name": "Ana", "last_name": "Pop", "role": "accountant"},
    )
    assert r.status_code == 302
    # Then the person exists, belongs to the company as accountant, without a password yet
    user = User.objects.get(email="ana@firma.ro")
    assert not user.has_usable_password()
    assert Membership.objects.get(user=user, company=world.company).role == Role.ACCOUNTANT
    # And the emailed link lets them choose a password and log in
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ana@firma.ro"]
    link = next(w for w in mail.outbox[0].body.split() if "/password/reset/" in w)
    path = link.split("://", 1)[1].split("/", 1)[1]
    r = client.get("/" + path, follow=True)
    assert r.status_code == 200
    r = client.post(
        r.redirect_chain[-1][0],
        {"new_password1": "o-parola-buna-2026", "new_password2": "o-parola-buna-2026"},
    )
    assert r.status_code == 302
    user.refresh_from_db()
    assert user.check_password("o-parola-buna-2026")


def test_an_admin_creates_a_user_with_a_password_and_an_existing_user_is_only_added(
    admin_client, world
):
    r = admin_client.post(
        reverse("web:users"),
        {"email": "ion@firma.ro", "role": "viewer", "password": "parola-lunga-de-test-9"},
    )
    assert r.status_code == 302
    ion = User.objects.get(email="ion@firma.ro")
    assert ion.check_password("parola-lunga-de-test-9")
    assert not mail.outbox
    # A user of another company keeps their password and is only given access.
    other = f.user()
    other.email = "maria@alta.ro"
    other.save()
    admin_client.post(reverse("web:users"), {"email": "maria@alta.ro", "role": "viewer"})
    assert Membership.objects.get(user=other, company=world.company).role == Role.VIEWER
    assert other.has_usable_password() and User.objects.filter(email="maria@alta.ro").count() == 1


def test_errors_are_shown_next_to_the_field(admin_client, world):
    r = admin_client.post(reverse("web:users"), {"email": "nu-e-email", "role": "viewer"})
    assert r.status_code == 400
    assert 'id="id_email_error"' in r.content.decode()
    r = admin_client.post(
        reverse("web:users"), {"email": "x@firma.ro", "role": "viewer", "password": "123"}
    )
    assert r.status_code == 400 and 'id="id_password_error"' in r.content.decode()
    assert not User.objects.filter(email="x@firma.ro").exists()


def test_the_role_changes_and_access_is_removed(admin_client, world):
    u = f.user()
    m = membership_grant(user=u, company=world.company, role=Role.VIEWER)
    admin_client.post(reverse("web:user-role", args=[m.pk]), {"role": "accountant"})
    m.refresh_from_db()
    assert m.role == Role.ACCOUNTANT
    admin_client.post(reverse("web:user-remove", args=[m.pk]))
    assert not Membership.objects.filter(pk=m.pk).exists()
    assert User.objects.filter(pk=u.pk).exists()  # their past work keeps its author


def test_the_last_administrator_cannot_be_demoted_or_removed(admin_client, world):
    m = Membership.objects.get(user=world.user, company=world.company)
    admin_client.post(reverse("web:user-role", args=[m.pk]), {"role": "viewer"})
    admin_client.post(reverse("web:user-remove", args=[m.pk]))
    m.refresh_from_db()
    assert m.role == Role.ADMIN
    page = admin_client.get(reverse("web:users")).content.decode()
    assert "cel puțin un administrator" in page


def test_only_an_administrator_manages_users_and_tokens(accountant_client, viewer_client, world):
    m = Membership.objects.get(user=world.user, company=world.company)
    for c in (accountant_client, viewer_client):
        assert c.get(reverse("web:users")).status_code == 403
        assert c.get(reverse("web:api-tokens")).status_code == 403
        assert c.post(reverse("web:user-role", args=[m.pk]), {"role": "viewer"}).status_code == 403
        assert c.post(reverse("web:users"), {"email": "a@b.ro", "role": "admin"}).status_code == 403
    assert not User.objects.filter(email="a@b.ro").exists()


def test_another_companys_membership_is_not_found(admin_client, world, other_company):
    m = Membership.objects.get(user=other_company.user)
    assert admin_client.post(reverse("web:user-remove", args=[m.pk])).status_code == 404
    assert Membership.objects.filter(pk=m.pk).exists()


def test_an_api_token_is_shown_once_works_and_is_revoked(admin_client, world):
    r = admin_client.post(reverse("web:api-tokens"), {"name": "export contabilitate"})
    html = r.content.decode()
    raw = html.split('id="token-secret">', 1)[1].split("<", 1)[0]
    assert raw.startswith("rct_")
    assert api_token_authenticate(raw=raw, as_of=clock.now()) is not None
    # Shown once: the list never shows it again.
    listed = admin_client.get(reverse("web:api-tokens")).content.decode()
    assert raw not in listed and "export contabilitate" in listed
    token = ApiToken.objects.get(name="export contabilitate")
    admin_client.post(reverse("web:api-token-revoke", args=[token.pk]))
    assert api_token_authenticate(raw=raw, as_of=clock.now()) is None


def test_removing_a_users_access_revokes_their_tokens(admin_client, world):
    from recurent.companies.api_tokens import api_token_create

    u = f.user()
    m = membership_grant(user=u, company=world.company, role=Role.ACCOUNTANT)
    _t, raw = api_token_create(user=u, company=world.company, name="script", as_of=clock.now())
    admin_client.post(reverse("web:user-remove", args=[m.pk]))
    membership_grant(user=u, company=world.company, role=Role.ACCOUNTANT)
    assert api_token_authenticate(raw=raw, as_of=clock.now()) is None
