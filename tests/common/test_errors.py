"""Errors carry a code and parameters: the user's language on screens, English in the API."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext_lazy

from recurent.api.problems import from_django
from recurent.common.errors import codes_of, field_error


def _err():  # type: ignore[no-untyped-def]
    return field_error(
        "invoice", gettext_lazy("%(number)s is already cancelled by a storno"), "cancelled",
        number="REC-000007",
    )  # fmt: skip


def test_a_domain_error_is_shown_in_the_active_language_from_the_catalogue():
    with translation.override("ro"):
        assert _err().message_dict == {
            "invoice": ["REC-000007 este deja anulată printr-o factură storno"]
        }
    with translation.override("en"):
        assert _err().message_dict == {"invoice": ["REC-000007 is already cancelled by a storno"]}
    assert codes_of(_err()) == {"invoice": ["cancelled"]}


def test_the_api_answers_in_english_with_the_error_code_whatever_the_language():
    with translation.override("ro"):
        problem = from_django(_err())
    assert problem.errors == [
        {
            "field": "invoice",
            "code": "cancelled",
            "message": "REC-000007 is already cancelled by a storno",
        }
    ]
