"""The processes of the kill test (DATABASE_URL and DJANGO_SETTINGS_MODULE set).

python -m tests.gateways.kill_run prep    migrate; one company with a Stripe and a NETOPIA
                                          account, a contract with a saved card on each, one
                                          invoice issued for each (two READY charges)
python -m tests.gateways.kill_run charge  the worker's charge task once (a STARTED row is asked
                                          again at once: stale_after=0)
"""

import sys

import django

django.setup()

from django.core.management import call_command  # noqa: E402

from recurent.common import crypto  # noqa: E402
from recurent.gateways import services  # noqa: E402
from recurent.gateways.models import CardAgreement  # noqa: E402
from recurent.invoices import services as invoices  # noqa: E402
from tests import factories as f  # noqa: E402
from tests.factories import local  # noqa: E402

AT = local(2026, 1, 31, 10)

if sys.argv[1] == "prep":
    call_command("migrate", verbosity=0)
    c, s, u = f.setup_company()
    stripe = services.account_save(company=c, provider="stripe", enabled=True, test_mode=True,
                                   api_base="http://127.0.0.1:9", secret="sk_test_123",
                                   webhook_secret="whsec_test_secret")  # fmt: skip
    netopia = services.account_save(company=c, provider="netopia", enabled=True, test_mode=True,
                                    api_base="http://127.0.0.1:9", secret="ntp-api-key",
                                    pos_signature="XXXX-TEST-POS", public_key="unused")  # fmt: skip
    for account, customer, token in ((stripe, "cus_kill", "pm_kill"), (netopia, "", "tok_kill")):
        k = f.contract(c, issuer=u, first=AT)
        CardAgreement.objects.create(
            company=c, contract=k, client=k.client, account=account, consent_text="I agree",
            consented_at=AT, client_name="Ana Pop", customer_ref=customer,
            token_encrypted=crypto.encrypt(token), brand="visa", last4="4242",
        )  # fmt: skip
    invoices.issue_due(as_of=AT)
else:
    print(services.charges_run(limit=10, as_of=local(2026, 1, 31, 11), stale_after=0))
