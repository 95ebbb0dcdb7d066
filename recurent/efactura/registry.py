"""ANAF's VAT-payer registry (PlatitorTvaRest v9): client, cache, and mapping to Client fields.

ANAF asks for at most 100 CUIs per call and one call per second; the client enforces both in
this process (a lock and the time of the last call). Answers are cached in RegistryAnswer.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from recurent.common.errors import engine_message
from recurent.engine import geo, identifiers

from . import conf
from .http import AnafMalformed, request
from .models import RegistryAnswer
from .spv import AnafRefused

MAX_PER_CALL = 100

_lock = threading.Lock()
_last_call = [0.0]


@dataclass(frozen=True)
class RegistryResult:
    found: dict[str, dict[str, Any]]  # digits-only CUI -> ANAF's found[] item
    not_found: set[str]


class RegistryClient:
    def __init__(self, *, url: str, timeout: float = 30.0, min_interval: float = 1.0) -> None:
        self.url = url
        self.timeout = timeout
        self.min_interval = min_interval

    def lookup(self, cuis: list[str], *, on: date) -> RegistryResult:
        digits = sorted({cui_digits(c) for c in cuis})
        found: dict[str, dict[str, Any]] = {}
        missing: set[str] = set()
        for i in range(0, len(digits), MAX_PER_CALL):
            part = self._call(digits[i : i + MAX_PER_CALL], on)
            found.update(part.found)
            missing |= part.not_found
        return RegistryResult(found, missing)

    def _throttle(self) -> None:
        wait = self.min_interval - (time.monotonic() - _last_call[0])
        if wait > 0:
            time.sleep(wait)
        _last_call[0] = time.monotonic()

    def _call(self, digits: list[str], on: date) -> RegistryResult:
        body = json.dumps([{"cui": int(d), "data": on.isoformat()} for d in digits]).encode()
        with _lock:  # one call at a time per process, at least min_interval apart
            self._throttle()
            resp = request(
                "POST",
                self.url,
                body=body,
                headers={"Content-Type": "application/json", "Accept": "application/json"},
                timeout=self.timeout,
            )
        return parse_registry_answer(resp.body, resp.status, asked=set(digits))


def parse_registry_answer(body: bytes, status: int, *, asked: set[str]) -> RegistryResult:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise AnafMalformed(f"registry: not JSON ({e}); starts with {body[:60]!r}") from None
    if not isinstance(data, dict):
        raise AnafMalformed(f"registry: JSON {type(data).__name__}, expected an object")
    cod = data.get("cod", status)
    if status >= 400 or (cod not in (200, "200")):
        raise AnafRefused("registry", [str(data.get("message") or f"HTTP {status}, cod {cod}")])
    raw_found, raw_missing = data.get("found"), data.get("notFound", [])
    if not isinstance(raw_found, list) or not isinstance(raw_missing, list):
        raise AnafMalformed("registry: 'found' and 'notFound' must be lists")
    found: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(raw_found):
        general = item.get("date_generale") if isinstance(item, dict) else None
        if not isinstance(general, dict) or not str(general.get("cui") or "").strip():
            raise AnafMalformed(f"registry: found[{i}] has no date_generale.cui")
        if not str(general.get("denumire") or "").strip():
            raise AnafMalformed(f"registry: found[{i}] has no date_generale.denumire")
        found[str(general["cui"]).strip()] = item
    not_found = {str(x).strip() for x in raw_missing}
    unanswered = asked - set(found) - not_found
    if unanswered:
        raise AnafMalformed(f"registry: no answer for CUI {', '.join(sorted(unanswered))}")
    return RegistryResult(found, not_found)


def cui_digits(value: str) -> str:
    clean = identifiers.clean_cui(str(value), "cui")
    return clean.removeprefix("RO")


# --- mapping to recurent.clients.models.Client ---------------------------------------------

_SECTOR = re.compile(r"\bsec(?:tor(?:ul)?)?\.?\s*([1-6])\b", re.IGNORECASE)
_LOCALITY_PREFIX = re.compile(
    r"^(mun\.|municipiul|ora[sş]ul|ora[sş]|or[sş]\.|com\.|comuna|sat)\s+", re.IGNORECASE
)


def _s(d: dict[str, Any] | None, key: str) -> str:
    return str((d or {}).get(key) or "").strip()


def _b(d: dict[str, Any] | None, key: str) -> bool:
    v = (d or {}).get(key)
    return v is True or str(v).lower() == "true"


@dataclass(frozen=True)
class RegistryRecord:
    cui: str
    name: str
    address: str
    trade_register: str
    vat_payer: bool
    vat_on_collection: bool
    inactive: bool
    efactura_registered: bool
    street: str
    city: str
    county: str
    postal_code: str

    def client_fields(self) -> dict[str, Any]:
        """The fields of recurent.clients.models.Client this answer fills."""
        return {
            "kind": "company",
            "name": self.name[:200],
            "tax_id": ("RO" if self.vat_payer else "") + self.cui,
            "trade_register": self.trade_register[:40],
            "street": self.street[:150],
            "city": self.city[:50],
            "county": self.county,
            "country": "RO",
            "postal_code": self.postal_code[:20],
            "vat_on_collection": self.vat_on_collection,
            "inactive_at_anaf": self.inactive,
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "cui": self.cui, "name": self.name, "address": self.address,
            "vat_payer": self.vat_payer, "vat_on_collection": self.vat_on_collection,
            "inactive": self.inactive, "efactura_registered": self.efactura_registered,
        }  # fmt: skip


def record_from(item: dict[str, Any]) -> RegistryRecord:
    g = item.get("date_generale") or {}
    seat = item.get("adresa_sediu_social") or {}
    county = ""
    code = _s(seat, "scod_JudetAuto")
    if code:
        try:
            county = geo.clean_county(code)
        except geo.AddressError:
            county = ""
    locality = _s(seat, "sdenumire_Localitate")
    if county == "RO-B":
        m = _SECTOR.search(locality) or _SECTOR.search(_s(g, "adresa"))
        city = f"SECTOR{m.group(1)}" if m else locality
    else:
        city = _LOCALITY_PREFIX.sub("", locality)
    street = _s(seat, "sdenumire_Strada")
    number = _s(seat, "snumar_Strada")
    if street and number:
        street = f"{street} nr. {number}"
    details = _s(seat, "sdetalii_Adresa")
    if details:
        street = f"{street}, {details}" if street else details
    if not street:
        street = _s(g, "adresa")
    return RegistryRecord(
        cui=str(g.get("cui")).strip(),
        name=_s(g, "denumire"),
        address=_s(g, "adresa"),
        trade_register=_s(g, "nrRegCom"),
        vat_payer=_b(item.get("inregistrare_scop_Tva"), "scpTVA"),
        vat_on_collection=_b(item.get("inregistrare_RTVAI"), "statusTvaIncasare"),
        inactive=_b(item.get("stare_inactiv"), "statusInactivi"),
        efactura_registered=_b(g, "statusRO_e_Factura"),
        street=street,
        city=city,
        county=county,
        postal_code=_s(seat, "scod_Postal") or _s(g, "codPostal"),
    )


# --- services -----------------------------------------------------------------------------


def registry_client() -> RegistryClient:
    return RegistryClient(
        url=str(conf.get("REGISTRY_URL")),
        timeout=conf.timeout(),
        min_interval=float(conf.get("REGISTRY_MIN_INTERVAL")),
    )


def registry_lookup(
    *, cuis: list[str], as_of: datetime, max_age: timedelta | None = None
) -> dict[str, RegistryAnswer]:
    """Answers for each CUI (digits-only keys), from the cache when fresh, else from ANAF.

    Raises ValidationError for a malformed CUI, AnafError when ANAF cannot answer.
    """
    try:
        digits = sorted({cui_digits(c) for c in cuis})
    except identifiers.IdentifierError as e:
        raise ValidationError({"cui": engine_message(e)}) from None
    max_age = max_age if max_age is not None else conf.hours("REGISTRY_CACHE_HOURS")
    today = as_of.astimezone(geo_tz()).date()
    cached = {
        a.cui: a
        for a in RegistryAnswer.objects.filter(
            cui__in=digits, query_date=today, fetched_at__gte=as_of - max_age
        )
    }
    missing = [d for d in digits if d not in cached]
    if missing:
        result = registry_client().lookup(missing, on=today)
        with transaction.atomic():
            for d in missing:
                item = result.found.get(d)
                a, _ = RegistryAnswer.objects.update_or_create(
                    cui=d,
                    query_date=today,
                    defaults={
                        "fetched_at": as_of,
                        "found": item is not None,
                        "payload": item or {},
                    },
                )
                cached[d] = a
    return cached


def geo_tz():  # type: ignore[no-untyped-def]
    from recurent.engine.cycles import BUCHAREST

    return BUCHAREST


@dataclass
class RefreshReport:
    checked: int = 0
    changed: int = 0
    not_found: int = 0
    flags: list[int] | None = None


# What the re-check applies to the client (it decides how the next invoice is made);
# other differences (name, address) are only flagged: the user may have good reasons.
APPLIED = ("tax_id", "vat_on_collection", "inactive_at_anaf")
FLAGGED = ("name", "trade_register", "street", "city", "county")


def clients_refresh_anaf(*, as_of: datetime, company_id: int | None = None) -> RefreshReport:
    """Re-check every Romanian legal-entity client against the registry and flag changes."""
    from recurent.clients.models import Client, ClientKind
    from recurent.clients.services import client_update

    from .models import ClientAnafCheck

    qs = Client.objects.filter(kind=ClientKind.COMPANY, country="RO").exclude(tax_id="")
    if company_id is not None:
        qs = qs.filter(company_id=company_id)
    report = RefreshReport(flags=[])
    clients = list(qs.order_by("pk"))
    by_cui: dict[str, list[Client]] = {}
    for c in clients:
        try:
            by_cui.setdefault(cui_digits(c.tax_id), []).append(c)
        except identifiers.IdentifierError:
            continue
    answers = registry_lookup(cuis=list(by_cui), as_of=as_of) if by_cui else {}
    for d, group in by_cui.items():
        answer = answers[d]
        for c in group:
            report.checked += 1
            changes: list[dict[str, Any]] = []
            if not answer.found:
                report.not_found += 1
                changes.append({"field": "cui", "old": c.tax_id, "new": None, "applied": False,
                                "note": "not found in ANAF's registry"})  # fmt: skip
            else:
                fields = record_from(answer.payload).client_fields()
                apply = {k: fields[k] for k in APPLIED if getattr(c, k) != fields[k]}
                for k, v in apply.items():
                    changes.append({"field": k, "old": getattr(c, k), "new": v, "applied": True})
                for k in FLAGGED:
                    if (
                        fields[k]
                        and str(getattr(c, k)).strip().casefold() != str(fields[k]).casefold()
                    ):
                        changes.append(
                            {"field": k, "old": getattr(c, k), "new": fields[k], "applied": False}
                        )
                if apply:
                    try:
                        client_update(client=c, **apply)
                    except ValidationError as e:
                        for ch in changes:
                            ch["applied"] = False
                        changes.append({"field": "__all__", "old": None, "new": None, "applied": False,
                                        "note": f"could not update: {e.messages}"})  # fmt: skip
            if changes:
                report.changed += 1
                check = ClientAnafCheck.objects.create(client=c, checked_at=as_of, changes=changes)
                report.flags.append(check.pk)  # type: ignore[union-attr]
    return report
