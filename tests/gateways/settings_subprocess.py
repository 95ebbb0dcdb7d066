"""Settings for the subprocesses of the kill test."""

from recurent.settings.test import *  # noqa: F403

LOGGING = {"version": 1, "disable_existing_loggers": False}
