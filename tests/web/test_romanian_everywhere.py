"""No English in the Romanian interface (issue 16, item 7): every page is walked in Romanian and
fails on any of the app's own English texts (its msgids that Romanian writes differently)."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from recurent.clients.portal_links import portal_token
from recurent.invoices.services import issue_due
from recurent.payments.services import payment_record
from recurent.web.i18n import catalogue
from tests import factories as f
from tests.factories import local

# Words the app writes the same in both languages, or names that are not sentences.
SAME = {"IBAN", "CUI", "CNP", "PDF", "XML", "SMTP", "API", "e-Factura", "Email", "email", "Total",
        "Sector", "Portal", "Client", "Status", "Cod", "Admin", "Saga", "WinMENTOR", "CSV", "XLSX",
        # Romanian words spelt like an English msgid: "date" (data), "Mandate" (mandatele)…
        "date", "Date", "Mandate", "Export", "e-Factura (ANAF SPV)"}  # fmt: skip
# Template syntax the template editor documents by name (Jinja's ``default`` filter).
ALLOWED = {"/mail/templates/add/": {"default"}}
# Pages that show the company's own data in English by design: the English email templates
# (for clients abroad) are listed with their English names and subjects.
DATA_IN_ENGLISH = {"/mail/", "/mail/reminders/"}


def _english_texts() -> list[str]:
    po = catalogue.read_po(catalogue.PO)
    out = set()
    for key, entry in po.items():
        if "\x04" in key or not entry.translated:
            continue
        text = " ".join(key.split())
        if re.search(r"%\(|%s|\{|<|\n", key) or text in SAME or text == entry.msgstr[0]:
            continue
        # Whole words of at least 4 letters: "Due", "paid" alone are too short to be sure.
        if len(text) < 4 or not re.search(r"[A-Za-z]{4}", text):
            continue
        out.add(text)
    return sorted(out, key=len, reverse=True)


def _visible(page: str) -> str:
    # Code (template field names, a template's own text) is not interface text.
    page = re.sub(r"<(script|style|template|datalist|code|pre)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r'\b(placeholder|aria-label|title)="([^"]*)"', r"> \2 <", page)
    text = re.sub(r"<[^>]+>", " ", page)
    return " ".join(html.unescape(text).split())


def _pages(extra: dict[str, str]) -> list[str]:
    """Every GET page of the interface apps whose arguments we can fill."""
    names: list[tuple[str, list[str]]] = []

    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{prefix}{p.namespace}:" if p.namespace else prefix
                walk(p.url_patterns, ns)
            elif isinstance(p, URLPattern) and p.name:
                names.append((prefix + p.name, list(p.pattern.regex.groupindex)))

    walk(get_resolver().url_patterns, "")
    urls = []
    for name, params in names:
        if not name.startswith(("web:", "mail:", "payments:", "efactura:", "documents:")):
            continue
        if params == []:
            try:
                urls.append(reverse(name))
            except Exception:  # noqa: BLE001 - a name that needs arguments given otherwise
                pass
        elif name in extra:
            urls.append(extra[name])
    return sorted(set(urls))


@pytest.fixture
def world_data(world):
    p = f.product(world.company, code="HOST", name="Găzduire", unit_price="250.00")
    f.product(world.company, code="BOOK", name="Carte", vat_rate="reduced")  # "S · redusă"
    cl = f.client(world.company, name="Client Unu SRL")
    c = f.contract(world.company, issuer=world.user, client_=cl, lines=[(p, "2")],
                   first=local(2026, 1, 31), auto_email=True)  # fmt: skip
    issue_due(as_of=local(2026, 2, 28, 10, 0))
    inv = c.invoices.order_by("number").first()
    payment_record(
        company=world.company, client=cl, date=local(2026, 2, 3).date(), amount=inv.gross_total,
        allocations=[(inv, inv.gross_total)], as_of=local(2026, 2, 3, 10), user=world.user,
    )  # fmt: skip
    return {"product": p.pk, "client": cl.pk, "client_obj": cl.pk, "contract": c.pk,
            "invoice": inv.pk, "token": portal_token(cl.pk)}  # fmt: skip


def test_every_page_in_romanian_carries_none_of_the_apps_english_texts(
    admin_client, world, world_data
):
    d = world_data
    extra = {
        "web:contract": reverse("web:contract", args=[d["contract"]]),
        "web:contract-edit": reverse("web:contract-edit", args=[d["contract"]]),
        "web:invoice": reverse("web:invoice", args=[d["invoice"]]),
        "web:client": reverse("web:client", args=[d["client"]]),
        "web:client-edit": reverse("web:client-edit", args=[d["client"]]),
        "web:product-edit": reverse("web:product-edit", args=[d["product"]]),
        "web:invoice-storno": reverse("web:invoice-storno", args=[d["invoice"]]),
        "portal:home": reverse("portal:home", args=[d["token"]]),
    }
    # The guided set-up's steps (issue 16): one URL name with the step as its argument.
    steps = [
        reverse("web:setup-step", args=[s])
        for s in ("company", "bank", "series", "email", "efactura")
    ]
    urls = _pages(extra) + [extra["portal:home"], *steps]
    assert len(urls) > 25, urls
    english = _english_texts()
    assert len(english) > 300
    found: dict[str, list[str]] = {}
    for url in urls:
        r = admin_client.get(url)
        if r.status_code != 200 or "text/html" not in r.get("Content-Type", ""):
            continue
        if url in DATA_IN_ENGLISH:
            continue
        text = _visible(r.content.decode())
        for e in english:
            if e in ALLOWED.get(url, ()):
                continue
            if re.search(rf"(?<![\w-]){re.escape(e)}(?![\w-])", text):
                found.setdefault(url, []).append(e)
    assert found == {}, "\n".join(f"{url}: {texts}" for url, texts in found.items())
