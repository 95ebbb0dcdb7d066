"""The PDF of an invoice or credit note, rendered with typst (see docs/decisions/0002-pdf-engine.md).

The template (``templates/invoice.typ``) is compiled once per process and reused; each
render passes the invoice as JSON in ``sys.inputs``. Every figure is formatted here, in
Python, from the stored amounts (Romanian number format, 1.234,56), so the PDF cannot show
a total different from the XML's. Fonts ship with the app (DejaVu Sans, full Romanian
coverage: ș ț with comma below) and system fonts are ignored, so a PDF renders the same
on every machine.
"""

from __future__ import annotations

import base64
import json
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings

from recurent.engine.identifiers import format_iban
from recurent.engine.vat import EXEMPTION_REASONS, VatCategory

from .snapshot import DocData, Party

# Where the online pay link of an invoice comes from (recurent.gateways registers one): the URL
# printed as a QR code next to the IBAN, or "" for none. Kept as a hook so that documents
# stays below the payment apps.
PAY_LINKS: list[Callable[[DocData], str]] = []

HERE = Path(__file__).resolve().parent
FONTS = HERE / "fonts"
TEMPLATES = HERE / "templates"
TEMPLATE_NAME = "invoice.typ"


@dataclass(frozen=True)
class Style:
    accent: str = "#1F4E79"
    footer: str = ""
    bilingual: bool = True
    logo: bytes | None = None  # PNG, JPEG or SVG


def template_path() -> Path:
    """A deployment's own layout wins over the shipped one (no code change needed)."""
    override = (
        getattr(settings, "RECURENT_DOCUMENTS_TEMPLATE_DIR", "") if settings.configured else ""
    )
    if override and (Path(override) / TEMPLATE_NAME).is_file():
        return Path(override) / TEMPLATE_NAME
    return TEMPLATES / TEMPLATE_NAME


_compilers: dict[str, Any] = {}
_lock = threading.RLock()


def _compiler(path: Path) -> Any:
    import typst

    key = str(path)
    with _lock:
        if key not in _compilers:
            _compilers[key] = typst.Compiler(
                str(path), root=str(path.parent), font_paths=[str(FONTS)], ignore_system_fonts=True
            )
        return _compilers[key]


# --- formatting ------------------------------------------------------------------------


def money(value: Decimal) -> str:
    """1234.5 -> '1.234,50' (the Romanian way)."""
    text = f"{value:,.2f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def number(value: Decimal, min_places: int = 0) -> str:
    text = format(value.normalize(), "f")
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0").ljust(min_places, "0")
    sign = "-" if whole.startswith("-") else ""
    whole = f"{int(whole.lstrip('-') or 0):,}".replace(",", ".")
    return f"{sign}{whole}{',' + frac if frac else ''}"


def day(value: date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else ""


def _party(p: Party, role: str) -> dict[str, Any]:
    rows: list[tuple[str, str]] = []
    tax_id = p.tax_id
    if role == "seller":
        rows.append(("CUI/CIF" if p.vat_payer else "CIF (neplătitor de TVA)", tax_id))
        if p.trade_register:
            rows.append(("Nr. Reg. Com.", p.trade_register))
        if p.share_capital:
            rows.append(("Capital social", p.share_capital))
    elif p.kind == "individual":
        if tax_id:
            rows.append(("CNP", tax_id))
    else:
        rows.append(("CUI/CIF", tax_id))
        if p.trade_register:
            rows.append(("Nr. Reg. Com.", p.trade_register))
    from recurent.engine.geo import COUNTIES

    county = COUNTIES.get(p.county, p.county)
    where = ", ".join(x for x in (p.city, county if county != p.city else "", p.postal_code) if x)
    country = "" if p.country == "RO" else f", {p.country}"
    contact = " · ".join(x for x in (p.email, p.phone) if x) if role == "seller" else ""
    address = f"{p.street}, {where}{country}" + (f"\n{contact}" if contact else "")
    return {"name": p.name, "rows": rows, "address": address}


def logo_svg(content: bytes | None) -> str | None:
    """The logo as an SVG string typst can take from ``sys.inputs`` (which only carries text):
    an SVG as is, a PNG or JPEG wrapped in an SVG ``<image>`` with a data URI."""
    if not content:
        return None
    head = content[:512].lstrip()
    if head.startswith(b"<?xml") or head.startswith(b"<svg"):
        return content.decode("utf-8")
    size = _image_size(content)
    if size is None:
        return None
    w, h = size
    mime = "image/png" if content.startswith(b"\x89PNG") else "image/jpeg"
    data = base64.b64encode(content).decode("ascii")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{w}" height="{h}" viewBox="0 0 {w} {h}"><image width="{w}" height="{h}" '
        f'xlink:href="data:{mime};base64,{data}"/></svg>'
    )


def _image_size(content: bytes) -> tuple[int, int] | None:
    if content.startswith(b"\x89PNG\r\n\x1a\n") and len(content) > 24:
        w, h = struct.unpack(">II", content[16:24])
        return int(w), int(h)
    if content.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(content):
            if content[i] != 0xFF:
                i += 1
                continue
            marker = content[i + 1]
            length = struct.unpack(">H", content[i + 2 : i + 4])[0]
            if marker in (
                0xC0,
                0xC1,
                0xC2,
                0xC3,
                0xC5,
                0xC6,
                0xC7,
                0xC9,
                0xCA,
                0xCB,
                0xCD,
                0xCE,
                0xCF,
            ):
                h, w = struct.unpack(">HH", content[i + 5 : i + 9])
                return int(w), int(h)
            i += 2 + length
    return None


def _mentions(d: DocData) -> list[str]:
    out = []
    if d.vat_on_collection:
        out.append("TVA la încasare")
    for cat, reason in dict.fromkeys((r.category, r.reason) for r in d.vat_rows):
        if cat == "S":
            continue
        text = reason or (
            EXEMPTION_REASONS.get(VatCategory(cat), ("", ""))[1]
            if cat in VatCategory._value2member_map_
            else ""
        )
        if text:
            out.append(text)
    return out


def _rate_label(category: str, rate: Decimal) -> str:
    if category == "S":
        return f"{number(rate)}%"
    return {"AE": "TI", "E": "scutit", "O": "—", "Z": "0%", "K": "0% IC", "G": "0% export"}.get(
        category, category
    )


def pay_qr(d: DocData) -> str | None:
    """The pay link as an SVG QR code (segno), for an invoice whose company takes online payments."""
    if d.is_credit_note:
        return None
    url = next((u for u in (fn(d) for fn in PAY_LINKS) if u), "")
    if not url:
        return None
    import io

    import segno

    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="svg", xmldecl=False, scale=4, border=0)
    return buf.getvalue().decode("ascii")


def payload(d: DocData, style: Style) -> dict[str, Any]:
    credit = d.is_credit_note
    foreign = d.currency != "RON"
    bi = style.bilingual
    meta: list[tuple[str, str]] = [
        ("Data emiterii / Issue date" if bi else "Data emiterii", day(d.issue_date))
    ]
    if not credit and d.due_date:
        meta.append(("Scadența / Due date" if bi else "Data scadenței", day(d.due_date)))
    if d.period_start and d.period_end:
        meta.append(
            (
                "Perioada / Period" if bi else "Perioada facturată",
                f"{day(d.period_start)} – {day(d.period_end)}",
            )
        )
    if d.contract_number:
        when = f" / {day(d.contract_date)}" if d.contract_date else ""
        meta.append(("Contract", f"{d.contract_number}{when}"))
    meta.append(("Moneda / Currency" if bi else "Moneda", d.currency))
    if foreign and d.fx_rate:
        meta.append(
            (
                "Curs BNR / BNR rate" if bi else "Curs BNR",
                f"{number(d.fx_rate, 4)} lei ({day(d.fx_date)})",
            )
        )
    reference = None
    if credit and d.credited_number:
        reference = f"Stornare a facturii {d.credited_number} din {day(d.credited_issue_date)}" + (
            f" / Credit note for invoice {d.credited_number}" if bi else ""
        )
    payment = None
    if d.seller.iban:
        payment = [("IBAN", format_iban(d.seller.iban))]
        if d.seller.bank:
            payment.append(("Banca" if not bi else "Banca / Bank", d.seller.bank))
        if not credit and d.due_date:
            payment.append(("Scadența" if not bi else "Scadența / Due", day(d.due_date)))
    legal = (
        "Factură emisă conform art. 319 din Legea nr. 227/2015 privind Codul fiscal. "
        "Valabilă fără semnătură și ștampilă (art. 319 alin. (29))."
    )
    return {
        "title": "FACTURĂ STORNO" if credit else "FACTURĂ",
        "title_en": "CREDIT NOTE" if credit else "INVOICE",
        "number": d.number,
        "bilingual": bi,
        "style": {"accent": style.accent, "ink": "#1D2433", "muted": "#6B7280", "rule": "#D1D5DB"},
        "logo": logo_svg(style.logo),
        "footer": style.footer or f"{d.seller.name} · {d.seller.tax_id}",
        "meta": meta,
        "seller": _party(d.seller, "seller"),
        "buyer": _party(d.buyer, "buyer"),
        "reference": reference,
        "currency": d.currency,
        "foreign": foreign,
        "lines": [
            {
                "position": str(li.position),
                "name": li.name,
                "description": " · ".join(
                    [
                        *(
                            [li.description[:300]]
                            if li.description.strip() != li.name.strip()
                            else []
                        ),
                        # Line allowances (discounts): the net beside is already after them.
                        # On a credit note they come back negated: the reversal adds them back.
                        *(
                            f"Reducere ({r}): −{money(a)}"
                            if a > 0
                            else f"Reducere stornată ({r}): +{money(-a)}"
                            for a, r in li.allowances
                        ),
                    ]
                ),
                "unit": li.unit_name or li.unit_code,
                "quantity": number(li.quantity),
                "price": number(li.unit_price, 2),
                "net": money(li.net),
                "rate": _rate_label(li.vat_category, li.vat_rate),
            }
            for li in d.lines
        ],
        "vat_rows": [
            {
                "label": _rate_label(r.category, r.rate)
                + ("" if r.category == "S" else f" ({r.category})"),
                "base": money(r.base),
                "vat": money(r.vat),
                "vat_ron": money(r.vat_ron) if r.vat_ron is not None else "",
            }
            for r in d.vat_rows
        ],
        "mentions": _mentions(d),
        "net_total": f"{money(d.net_total)} {d.currency}",
        "vat_total": f"{money(d.vat_total)} {d.currency}",
        "vat_total_ron": f"{money(d.vat_total_ron)} lei" if d.vat_total_ron is not None else "",
        "gross_total": f"{money(d.gross_total)} {d.currency}",
        "total_label": "Total de restituit" if credit else "Total de plată",
        "total_label_en": "Total credited" if credit else "Total due",
        "payment": payment,
        "pay_qr": pay_qr(d),
        "annexes": [
            a.filename + (f" — {a.description}" if a.description else "") for a in d.annexes
        ],
        "notes": d.notes or "",
        "issuer": d.issuer_name,
        "legal": legal,
    }


def render(d: DocData, style: Style | None = None) -> bytes:
    data = json.dumps(payload(d, style or Style()), ensure_ascii=False)
    compiler = _compiler(template_path())
    with _lock:  # one typst world per template: renders of the same template take turns
        return compiler.compile(sys_inputs={"data": data})  # type: ignore[no-any-return]
