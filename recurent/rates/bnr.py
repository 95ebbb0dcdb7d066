"""BNR reference rates: parse BNR's XML and fetch it from a configurable URL.

BNR publishes the daily file (``nbrfxrates.xml``), the last ten days and yearly
archives (``files/xml/years/nbrfxratesYYYY.xml``). Both namespaces seen in the wild
(``http://www.bnr.ro/xsd`` and ``https://www.bnr.ro/xsd``) are accepted.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree


class BnrError(Exception):
    pass


@dataclass(frozen=True)
class PublishedRate:
    currency: str
    day: date
    value: Decimal  # as published, for ``multiplier`` units
    multiplier: int

    @property
    def per_unit(self) -> Decimal:
        return self.value / self.multiplier


def parse(xml: bytes) -> list[PublishedRate]:
    try:
        root = etree.fromstring(
            xml, parser=etree.XMLParser(resolve_entities=False, no_network=True)
        )
    except etree.XMLSyntaxError as e:
        raise BnrError(f"BNR answer is not XML: {e}") from None
    out: list[PublishedRate] = []
    cubes = [
        el for el in root.iter() if isinstance(el.tag, str) and etree.QName(el).localname == "Cube"
    ]
    if not cubes:
        raise BnrError("BNR answer has no <Cube> element")
    for cube in cubes:
        try:
            day = date.fromisoformat(cube.get("date", ""))
        except ValueError:
            raise BnrError(f"Cube with a bad date {cube.get('date')!r}") from None
        for rate in cube:
            if not isinstance(rate.tag, str) or etree.QName(rate).localname != "Rate":
                continue
            cur = (rate.get("currency") or "").upper()
            try:
                value = Decimal((rate.text or "").strip())
                mult = int(rate.get("multiplier", "1"))
            except (InvalidOperation, ValueError):
                raise BnrError(f"bad rate for {cur} on {day}: {rate.text!r}") from None
            if len(cur) != 3 or value <= 0 or mult <= 0:
                raise BnrError(f"bad rate for {cur!r} on {day}: {rate.text!r}")
            out.append(PublishedRate(cur, day, value, mult))
    return out


def fetch(url: str, timeout: float = 20.0) -> bytes:
    if not url.startswith(("http://", "https://")):
        raise BnrError(f"BNR URL must be http(s): {url!r}")
    req = urllib.request.Request(
        url, headers={"User-Agent": "Recurent (+https://github.com/recurent)"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (scheme checked above)
            return resp.read()
    except OSError as e:
        raise BnrError(f"cannot fetch {url}: {e}") from None


def iter_currency(
    rates: list[PublishedRate], currencies: set[str] | None
) -> Iterator[PublishedRate]:
    for r in rates:
        if currencies is None or r.currency in currencies:
            yield r
