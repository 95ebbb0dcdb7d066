from collections.abc import Iterator

import pytest

from .harness import Databases, configured_url


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    """Databases of the tests' own on the configured server (PostgreSQL) or in a tmp dir (SQLite)."""
    dbs = Databases(configured_url(), tmp_path_factory.mktemp("faults"))
    try:
        yield dbs
    finally:
        dbs.drop_all()
