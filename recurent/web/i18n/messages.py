"""Engine and service messages (English in the code) that the web shows in the user's language.

Messages that embed a value are matched by a pattern and re-built from a translatable template.
Being retired (issue 15): a service whose errors carry a code and a lazy message
(``common.errors.field_error``, storno first) needs no entry here; remove its entries as each
service moves, and this module with the last one.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext, gettext_noop

FIXED = [
    gettext_noop("a legal entity needs its CUI/CIF"),
    gettext_noop("a contract needs at least one product line"),
    gettext_noop("must be greater than zero"),
    gettext_noop("too large (at most 9999999999.9999)"),
    gettext_noop("too large (at most 999999999999.9999)"),
    gettext_noop("at most 4 decimals"),
    gettext_noop("cannot be smaller than the smallest quantity"),
    gettext_noop("cannot be negative"),
    gettext_noop("give the date and time of the first invoice"),
    gettext_noop("the end must come after the first invoice"),
    gettext_noop("the company has no invoice series; create one first"),
    gettext_noop("enter a valid email address"),
    gettext_noop("this person already has access to the company"),
    gettext_noop("a user with this user name already exists"),
    gettext_noop("the company needs at least one administrator"),
    gettext_noop("give the token a name (which system uses it)"),
    gettext_noop("email sending is not installed"),
]

PATTERNS = [
    (
        re.compile(r"^(?P<value>'[^']*') fails the CUI/CIF check digit$"),
        gettext_noop("%(value)s fails the CUI/CIF check digit"),
    ),
    (
        re.compile(
            r"^(?P<value>'[^']*') is not a Romanian county \(ISO 3166-2, e\.g\. RO-CJ, RO-B\)$"
        ),
        gettext_noop("%(value)s is not a Romanian county (ISO 3166-2, e.g. RO-CJ, RO-B)"),
    ),
]


def translate(message: str) -> str:
    for pattern, template in PATTERNS:
        m = pattern.match(message)
        if m:
            return gettext(template) % m.groupdict()
    return gettext(message)
