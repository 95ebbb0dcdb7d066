"""Pre-filled date fields reach the browser in the one format <input type="date"> accepts
(ISO), whatever the page's language: in Romanian Django would write 31.12.2026, which a browser
shows as an empty field, so the user had to pick the date again."""

from __future__ import annotations

import re

import pytest


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["ro", "en"])
def test_the_accounting_export_dates_are_iso_in_every_language(admin_client, language):
    page = admin_client.get("/accounting/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    for name in ("date_from", "date_to"):
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
        assert tag, name
        assert 'type="date"' in tag.group(0)
        assert re.search(r'value="\d{4}-\d{2}-\d{2}"', tag.group(0)), tag.group(0)
