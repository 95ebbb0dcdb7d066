"""``recurent api_token create USER COMPANY_ID --name N`` | ``list [COMPANY_ID]`` | ``revoke PREFIX``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from recurent.common import clock
from recurent.common.errors import messages_of
from recurent.companies.api_tokens import api_token_create, api_token_revoke
from recurent.companies.models import ApiToken, Company


class Command(BaseCommand):
    help = "Create, list and revoke API tokens (the token is printed once, at creation)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token for USER in COMPANY_ID")
        create.add_argument("user", help="username")
        create.add_argument("company_id", type=int)
        create.add_argument("--name", required=True, help="which system uses it")
        listing = sub.add_parser("list", help="list tokens (never their secret)")
        listing.add_argument("company_id", type=int, nargs="?")
        revoke = sub.add_parser("revoke", help="revoke a token by its prefix (rct_<prefix>_…)")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **opts: Any) -> None:
        action = opts["action"]
        if action == "create":
            user = get_user_model().objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(f"no user {opts['user']!r}")
            company = Company.objects.filter(pk=opts["company_id"]).first()
            if company is None:
                raise CommandError(f"no company with id {opts['company_id']}")
            try:
                token, raw = api_token_create(
                    user=user, company=company, name=opts["name"], as_of=clock.now()
                )
            except ValidationError as e:
                raise CommandError("; ".join(f"{f}: {m}" for f, m in messages_of(e))) from None
            self.stderr.write(f"Token {token.name!r} for {user} in {company} (shown only now):")
            self.stdout.write(raw)
        elif action == "list":
            qs = ApiToken.objects.select_related("user", "company")
            if opts.get("company_id"):
                qs = qs.filter(company_id=opts["company_id"])
            for t in qs:
                state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "live"
                used = f"{t.last_used:%Y-%m-%d %H:%M}" if t.last_used else "never"
                self.stdout.write(
                    f"rct_{t.prefix}_…  {t.name}  user={t.user}  company={t.company_id}  "
                    f"{state}  last used {used}"
                )
        else:
            prefix = opts["prefix"].removeprefix("rct_").split("_", 1)[0]
            found = ApiToken.objects.filter(prefix=prefix).first()
            if found is None:
                raise CommandError(f"no token with prefix {prefix!r}")
            api_token_revoke(token=found, as_of=clock.now())
            self.stdout.write(f"revoked rct_{prefix}_…")
