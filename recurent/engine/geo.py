"""Romanian counties as ISO 3166-2 codes (CIUS-RO asks for them) and Bucharest sectors."""

from __future__ import annotations

import unicodedata

from .errors import EngineError, gettext_noop

COUNTIES: dict[str, str] = {
    "RO-AB": "Alba", "RO-AR": "Arad", "RO-AG": "Argeș", "RO-BC": "Bacău", "RO-BH": "Bihor",
    "RO-BN": "Bistrița-Năsăud", "RO-BT": "Botoșani", "RO-BV": "Brașov", "RO-BR": "Brăila",
    "RO-B": "București", "RO-BZ": "Buzău", "RO-CS": "Caraș-Severin", "RO-CL": "Călărași",
    "RO-CJ": "Cluj", "RO-CT": "Constanța", "RO-CV": "Covasna", "RO-DB": "Dâmbovița",
    "RO-DJ": "Dolj", "RO-GL": "Galați", "RO-GR": "Giurgiu", "RO-GJ": "Gorj", "RO-HR": "Harghita",
    "RO-HD": "Hunedoara", "RO-IL": "Ialomița", "RO-IS": "Iași", "RO-IF": "Ilfov",
    "RO-MM": "Maramureș", "RO-MH": "Mehedinți", "RO-MS": "Mureș", "RO-NT": "Neamț", "RO-OT": "Olt",
    "RO-PH": "Prahova", "RO-SM": "Satu Mare", "RO-SJ": "Sălaj", "RO-SB": "Sibiu", "RO-SV": "Suceava",
    "RO-TR": "Teleorman", "RO-TM": "Timiș", "RO-TL": "Tulcea", "RO-VS": "Vaslui", "RO-VL": "Vâlcea",
    "RO-VN": "Vrancea",
}  # fmt: skip

BUCHAREST_SECTORS = tuple(f"SECTOR{i}" for i in range(1, 7))


class AddressError(EngineError):
    """A value the billing core refuses (see errors.EngineError)."""


def _fold(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).lower()


_BY_NAME = {_fold(name): code for code, name in COUNTIES.items()}
_BY_NAME["bucuresti"] = "RO-B"
_BY_NAME["bucharest"] = "RO-B"


def clean_county(value: str, field: str = "county") -> str:
    """``CJ``, ``RO-CJ`` or ``Cluj`` -> ``RO-CJ``."""
    raw = (value or "").strip()
    up = raw.upper()
    if not up.startswith("RO-"):
        up = "RO-" + up
    if up in COUNTIES:
        return up
    by_name = _BY_NAME.get(_fold(raw))
    if by_name:
        return by_name
    raise AddressError(
        field,
        gettext_noop("%(value)s is not a Romanian county (ISO 3166-2, e.g. RO-CJ, RO-B)"),
        "not_a_county",
        value=repr(value),
    )


def clean_bucharest_city(city: str, field: str = "city") -> str:
    """Bucharest addresses name their sector: ``Sector 3`` / ``sectorul 3`` -> ``SECTOR3``."""
    digits = [c for c in city if c.isdigit()]
    folded = _fold(city).replace(" ", "").replace("ul", "")
    if "sector" in folded and len(digits) == 1 and digits[0] in "123456":
        return f"SECTOR{digits[0]}"
    # The short forms on letters and in registries: "S3", "S.3", "Sect. 3".
    short = folded.replace(".", "")
    if short in {f"{p}{n}" for p in ("s", "sect") for n in "123456"}:
        return f"SECTOR{short[-1]}"
    raise AddressError(
        field,
        gettext_noop(
            "a Bucharest address needs its sector as the city (SECTOR1 to SECTOR6), got %(city)s"
        ),
        "bucharest_sector_required",
        city=repr(city),
    )
