# The fixtures of the efactura tests (the screens' tests live under tests/web/, as the screens do).
from tests.efactura.conftest import *  # noqa: F403
