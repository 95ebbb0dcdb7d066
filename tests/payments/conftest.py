import pytest

from recurent.common import events


@pytest.fixture
def emitted():
    """Domain events emitted during the test: [(company_id, type, payload)]."""
    seen: list = []

    def listener(company_id, event_type, payload):
        if not event_type.startswith("contract."):  # the set-up's contracts announce themselves too
            seen.append((company_id, event_type, payload))

    events.listen(listener)
    yield seen
    events._listeners.remove(listener)
