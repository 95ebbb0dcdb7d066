"""Engine and service messages (English in the code) that the web shows in the user's language.

Messages that embed a value are matched by a pattern and re-built from a translatable template.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext, gettext_noop

FIXED = [
    gettext_noop("a legal entity needs its CUI/CIF"),
    gettext_noop("a contract needs at least one product line"),
    gettext_noop("must be greater than zero"),
    gettext_noop("cannot be negative"),
    gettext_noop("give the date and time of the first invoice"),
    gettext_noop("the end must come after the first invoice"),
    gettext_noop("the company has no invoice series; create one first"),
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
