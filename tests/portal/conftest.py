# The mail tests' real SMTP server (aiosmtpd on 127.0.0.1) and a company sending through it.
from tests.mail.conftest import mail_world, smtp_server  # noqa: F401
