import json

import pytest

from recurent.gateways import services
from tests.gateways.standins import FakeNetopia, FakeStripe


@pytest.fixture
def stripe_fake():
    s = FakeStripe().start()
    yield s
    s.stop()


@pytest.fixture
def netopia_fake():
    n = FakeNetopia().start()
    yield n
    n.stop()


@pytest.fixture
def stripe_account(world, stripe_fake):
    return services.account_save(
        company=world.company, provider="stripe", enabled=True, test_mode=True,
        api_base=stripe_fake.base, secret=stripe_fake.api_key,
        webhook_secret=stripe_fake.webhook_secret,
    )  # fmt: skip


@pytest.fixture
def netopia_account(world, netopia_fake):
    return services.account_save(
        company=world.company, provider="netopia", enabled=True, test_mode=True,
        api_base=netopia_fake.base, secret=netopia_fake.api_key,
        pos_signature=netopia_fake.pos_signature, public_key=netopia_fake.public_key,
    )  # fmt: skip


@pytest.fixture
def deliver(client):
    """Deliver a stand-in's queued notifications to Recurent through the test client."""

    def run(fake, account, *, only=None):
        answers = []
        items = fake.outbox if only is None else only
        for body, headers in list(items):
            extra = {
                f"HTTP_{k.upper().replace('-', '_')}": v
                for k, v in headers.items()
                if k != "Content-Type"
            }
            r = client.post(f"/gateways/notify/{account.pk}/", data=body,
                            content_type="application/json", **extra)  # fmt: skip
            answers.append((r.status_code, json.loads(r.content)))
        if only is None:
            fake.outbox.clear()
        return answers

    return run
