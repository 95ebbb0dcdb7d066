"""Every app's main page speaks Romanian by default and English once the user chooses it, and the
Romanian catalogue translates every text the code marks for translation (none missing, empty or
fuzzy), compiled."""

from __future__ import annotations

import gettext
import html

import pytest
from django.urls import reverse

from recurent.clients import portal_links as links
from recurent.web.i18n import catalogue

# page -> (Romanian texts, English texts); each pair is the same label in both languages.
PAGES: dict[str, tuple[list[str], list[str]]] = {
    "web:dashboard": (["Panou", "Facturat luna aceasta", "De încasat"],
                      ["Dashboard", "Invoiced this month", "Outstanding"]),
    "web:invoices": (["Facturi", "Emise de la", "Caută"], ["Invoices", "Issued from", "Search"]),
    "web:clients": (["Clienți", "Adaugă client"], ["Clients", "Add client"]),
    "web:products": (["Produse", "Adaugă produs"], ["Products", "Add product"]),
    "web:contracts": (["Contracte", "Contract nou"], ["Contracts", "New contract"]),
    "web:billing-run": (["Rulare facturare"], ["Billing run"]),
    "web:settings": (["Setări"], ["Settings"]),
    "mail:templates": (["Șabloane email", "Mementouri de plată", "Mesaje trimise și în așteptare"],
                       ["Email templates", "Payment reminders", "Sent and queued messages"]),
    "mail:outbox": (["Încercări", "Răspunsul serverului"], ["Attempts", "Server answer"]),
    "documents:settings": (["PDF-ul facturii", "Culoare de accent", "Limba etichetelor"],
                           ["Invoice PDF", "Accent colour", "Language of the labels"]),
    "payments:list": (["Încasări", "Înregistrează o încasare", "Extrase bancare"],
                      ["Payments", "Record a payment", "Bank statements"]),
    "payments:reports": (["Rapoarte de încasări", "Fișa clientului"],
                         ["Payment reports", "Client statement"]),
    "efactura:settings": (["Conexiunea cu SPV-ul ANAF", "Încarcă automat facturile emise"],
                          ["Connection to ANAF's SPV", "Upload issued invoices automatically"]),
    "efactura:incoming": (["Facturi de la furnizori în SPV"], ["Supplier invoices in SPV"]),
}  # fmt: skip


def _text(response) -> str:
    assert response.status_code == 200, response
    return html.unescape(response.content.decode())


@pytest.mark.parametrize("name", sorted(PAGES))
def test_each_main_page_in_romanian_by_default_then_in_english(admin_client, data, name):
    ro, en = PAGES[name]
    page = _text(admin_client.get(reverse(name)))
    assert '<html lang="ro"' in page
    missing = [t for t in ro if t not in page]
    assert not missing, (name, missing)
    assert admin_client.post(reverse("web:set-language"), {"language": "en"}).status_code == 302
    page = _text(admin_client.get(reverse(name)))
    assert '<html lang="en"' in page
    missing = [t for t in en if t not in page]
    assert not missing, (name, missing)
    # The English page carries no Romanian label of the same page.
    leftover = [t for t in ro if t not in en and t in page]
    assert not leftover, (name, leftover)


def test_the_portal_follows_its_client_not_the_user(client, data):
    url = reverse("portal:home", args=[links.portal_token(data.client.pk)])
    client.cookies["django_language"] = "en"
    page = _text(client.get(url))
    assert "Total de plată" in page or "Nu aveți nimic de plată" in page
    assert "Abonamente" in page and "Subscriptions" not in page


def test_the_romanian_catalogue_translates_every_text_the_apps_use():
    used = catalogue.extract()
    assert len(used) > 500  # the extraction really ran over the apps
    po = catalogue.read_po(catalogue.PO)
    assert catalogue.problems(used, po) == []
    # And the compiled catalogue (what Django reads) holds them: compilemessages was run.
    mo = catalogue.PO.with_suffix(".mo")
    with mo.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    stale = []
    for key, entry in used.items():
        if entry.plural:
            got = compiled.ngettext(key, entry.plural, 5)
            want = po[key].msgstr[1]
        else:
            got = compiled.gettext(key)
            want = po[key].msgstr[0]
        if got != want:
            stale.append(key)
    assert stale == [], "run: .venv/bin/python -m recurent.web.i18n.update"
