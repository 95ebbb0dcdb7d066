# The fixtures of the payments tests (the screens' tests live under tests/web/, as the screens do).
from tests.payments.conftest import *  # noqa: F403
