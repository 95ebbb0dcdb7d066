"""The fault tests' own databases (real processes need committed data)."""

from tests.faults.conftest import databases  # noqa: F401
