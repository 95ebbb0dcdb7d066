"""Romanian working days: the calendar behind legal deadlines counted in working days.

The e-Factura deadline (OUG 120/2021 as amended: 5 working days from issue) is counted in
working days, which skip Saturdays, Sundays and the public holidays of the Labour Code
(Codul muncii, art. 139), as amended up to Law 52/2023 (6 and 7 January):

- 1 and 2 January; 6 January (Epiphany) and 7 January (St John the Baptist); 24 January;
- Orthodox Good Friday, Easter Sunday and Monday; Orthodox Pentecost Sunday and Monday;
- 1 May, 1 June, 15 August, 30 November, 1 December, 25 and 26 December.

Pure: no Django, no clock.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from dateutil.easter import EASTER_ORTHODOX, easter

FIXED = ((1, 1), (1, 2), (1, 6), (1, 7), (1, 24), (5, 1), (6, 1), (8, 15), (11, 30), (12, 1),
         (12, 25), (12, 26))  # fmt: skip


@lru_cache(maxsize=64)
def public_holidays(year: int) -> frozenset[date]:
    """Romania's public holidays (non-working days) of ``year``."""
    e = easter(year, EASTER_ORTHODOX)
    moving = {e - timedelta(days=2), e, e + timedelta(days=1), e + timedelta(days=49),
              e + timedelta(days=50)}  # fmt: skip
    return frozenset({date(year, m, d) for m, d in FIXED} | moving)


def is_working_day(d: date) -> bool:
    return d.weekday() < 5 and d not in public_holidays(d.year)


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after ``start`` (``start`` itself is not counted)."""
    if n < 0:
        raise ValueError("n: a number of working days to add, 0 or more")
    d = start
    while n:
        d += timedelta(days=1)
        if is_working_day(d):
            n -= 1
    return d
