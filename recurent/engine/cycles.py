"""Billing cycles and the instants they produce.

Pure Python, no Django. Every instant is computed from the anchor (the first
issue instant) as anchor + k x cycle on the *local wall clock*, never chained
from the previous instant, so that month ends do not drift (31 Jan -> 28 Feb ->
31 Mar, not 28 Mar) and 09:00 stays 09:00 across DST changes.

Local times are turned into aware instants the way RFC 5545 reads them:
- a wall time that does not exist (spring forward gap) is read with the UTC
  offset in force *before* the gap, so 03:30 on that night becomes 04:30 summer time;
- an ambiguous wall time (fall back) takes its first occurrence.
PEP 495's ``fold=0`` gives exactly this with zoneinfo, which is why
``_localize`` is a one-liner.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from .errors import EngineError, gettext_noop

BUCHAREST = ZoneInfo("Europe/Bucharest")


class CycleKind(enum.StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half-yearly"
    YEARLY = "yearly"
    DAYS = "days"


_MONTHS = {
    CycleKind.MONTHLY: 1,
    CycleKind.QUARTERLY: 3,
    CycleKind.HALF_YEARLY: 6,
    CycleKind.YEARLY: 12,
}


class ScheduleError(EngineError):
    """A schedule that cannot exist; ``field`` names the culprit."""


@dataclass(frozen=True)
class Cycle:
    kind: CycleKind
    every_days: int | None = None

    def __post_init__(self) -> None:
        if self.kind is CycleKind.DAYS:
            if self.every_days is None or self.every_days < 1:
                raise ScheduleError(
                    "every_days",
                    gettext_noop("a cycle of N days needs N >= 1 (got %(every_days)s)"),
                    "every_days_too_small",
                    every_days=repr(self.every_days),
                )
        elif self.every_days is not None:
            raise ScheduleError(
                "every_days",
                gettext_noop("only the 'days' cycle takes a number of days"),
                "every_days_not_allowed",
            )

    @classmethod
    def parse(cls, kind: str, every_days: int | None = None) -> Cycle:
        try:
            k = CycleKind(kind)
        except ValueError:
            names = ", ".join(c.value for c in CycleKind)
            raise ScheduleError(
                "cycle",
                gettext_noop("unknown cycle %(kind)s; expected one of %(names)s"),
                "unknown_cycle",
                kind=repr(kind),
                names=names,
            ) from None
        if k is not CycleKind.DAYS:
            every_days = None
        return cls(k, every_days)

    def step(self, k: int) -> relativedelta:
        """The offset of the k-th instant from the anchor, on the wall clock."""
        if self.kind is CycleKind.WEEKLY:
            return relativedelta(days=7 * k)
        if self.kind is CycleKind.DAYS:
            assert self.every_days is not None
            return relativedelta(days=self.every_days * k)
        return relativedelta(months=_MONTHS[self.kind] * k)

    def label(self) -> str:
        if self.kind is CycleKind.DAYS:
            return f"every {self.every_days} days"
        return self.kind.value


def localize(wall: datetime, tz: ZoneInfo = BUCHAREST) -> datetime:
    """A naive wall-clock time in ``tz`` as an aware instant (RFC 5545 rules, see module doc)."""
    if wall.tzinfo is not None:
        raise ValueError("localize() takes a naive wall-clock datetime")
    return wall.replace(tzinfo=tz, fold=0)


def wall_clock(instant: datetime, tz: ZoneInfo = BUCHAREST) -> datetime:
    """The naive local wall time of an aware instant."""
    if instant.tzinfo is None:
        raise ValueError("wall_clock() takes an aware datetime")
    return instant.astimezone(tz).replace(tzinfo=None)


@dataclass(frozen=True)
class Period:
    """The k-th billing period: when it is invoiced and which service days it covers."""

    index: int
    issue_at: datetime  # aware, UTC
    start: date  # first service day, inclusive
    end: date  # last service day, inclusive

    def as_json(self) -> dict[str, str | int]:
        return {
            "index": self.index,
            "issue_at": self.issue_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "period_start": self.start.isoformat(),
            "period_end": self.end.isoformat(),
        }


@dataclass(frozen=True)
class Schedule:
    """When a contract is invoiced.

    ``first_wall`` is the local wall time of the first invoice in ``tz``; ``end`` is an
    aware instant: the last invoice is the last instant strictly before it.
    ``in_arrears``: the invoice at instant k covers [instant k-1, instant k) instead of
    [instant k, instant k+1).
    ``final_index`` stops the schedule after that period (cancel at period end).
    """

    first_wall: datetime
    cycle: Cycle
    end: datetime | None = None
    in_arrears: bool = False
    final_index: int | None = None
    tz: ZoneInfo = BUCHAREST

    def __post_init__(self) -> None:
        if self.first_wall.tzinfo is not None:
            object.__setattr__(self, "first_wall", wall_clock(self.first_wall, self.tz))
        if self.end is not None:
            if self.end.tzinfo is None:
                raise ScheduleError(
                    "end",
                    gettext_noop("the end must be an aware instant"),
                    "end_not_aware",
                )
            if self.end <= self.instant(0):
                raise ScheduleError(
                    "end",
                    gettext_noop("the end must come after the first invoice"),
                    "end_before_first",
                )

    def wall(self, k: int) -> datetime:
        return self.first_wall + self.cycle.step(k)

    def instant(self, k: int) -> datetime:
        """The k-th issue instant, aware in UTC."""
        return localize(self.wall(k), self.tz).astimezone(UTC)

    def has(self, k: int) -> bool:
        if k < 0:
            return False
        if self.final_index is not None and k > self.final_index:
            return False
        return self.end is None or self.instant(k) < self.end

    def period(self, k: int) -> Period:
        if self.in_arrears:
            start, stop = self.wall(k - 1).date(), self.wall(k).date()
        else:
            start, stop = self.wall(k).date(), self.wall(k + 1).date()
        return Period(k, self.instant(k), start, stop - timedelta(days=1))

    def periods(self, start_index: int = 0) -> Iterator[Period]:
        k = start_index
        while self.has(k):
            yield self.period(k)
            k += 1

    def first_index_at_or_after(self, instant: datetime) -> int:
        """The smallest k whose instant is >= ``instant`` (used to skip a paused stretch)."""
        if instant.tzinfo is None:
            raise ValueError("instant must be aware")
        k = self._estimate(instant)
        while k > 0 and self.instant(k - 1) >= instant:
            k -= 1
        while self.instant(k) < instant:
            k += 1
        return k

    def index_after(self, instant: datetime) -> int:
        """The smallest k whose instant is strictly after ``instant``."""
        k = self.first_index_at_or_after(instant)
        while self.instant(k) <= instant:
            k += 1
        return k

    def _estimate(self, instant: datetime) -> int:
        days = (instant - self.instant(0)).days
        if days <= 0:
            return 0
        if self.cycle.kind is CycleKind.WEEKLY:
            return days // 7
        if self.cycle.kind is CycleKind.DAYS:
            assert self.cycle.every_days is not None
            return days // self.cycle.every_days
        return max(0, int(days / (30.436875 * _MONTHS[self.cycle.kind])) - 1)

    def due(self, next_index: int, as_of: datetime) -> list[Period]:
        """Every period from ``next_index`` whose instant is <= ``as_of``, oldest first."""
        out = []
        k = next_index
        while self.has(k) and self.instant(k) <= as_of:
            out.append(self.period(k))
            k += 1
        return out

    def next_after(self, next_index: int) -> datetime | None:
        """The instant of period ``next_index``, or None when the schedule is over."""
        return self.instant(next_index) if self.has(next_index) else None
