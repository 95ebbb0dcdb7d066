# The fixtures of the mail tests (the screens' tests live under tests/web/, as the screens do).
from tests.mail.conftest import *  # noqa: F403
