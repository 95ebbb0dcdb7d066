"""Template helpers for every app's pages: navigation that hides screens not built yet, money."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.formats import number_format
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from recurent.companies import access

register = template.Library()

# (url name, label, icon, minimum role). Items whose URL does not reverse are hidden, so the
# menu works before the payments and mail apps land.
NAV = [
    ("web:dashboard", _("Dashboard"), "grid", "viewer"),
    ("web:contracts", _("Contracts"), "file", "viewer"),
    ("web:invoices", _("Invoices"), "receipt", "viewer"),
    ("payments:list", _("Payments"), "wallet", "viewer"),
    ("web:clients", _("Clients"), "users", "viewer"),
    ("web:products", _("Products"), "box", "viewer"),
    ("web:series", _("Series"), "hash", "viewer"),
    ("mail:templates", _("Email templates"), "mail", "viewer"),
    ("efactura:incoming", _("Supplier invoices"), "inbox", "viewer"),
    ("web:billing-run", _("Billing run"), "play", "accountant"),
    ("web:accounting", _("Accounting"), "book", "accountant"),
    ("efactura:settings", _("e-Factura"), "send", "admin"),
    ("gateways:settings", _("Online payments"), "wallet", "admin"),
    ("web:settings", _("Settings"), "gear", "admin"),
]


def safe_reverse(name: str, *args: Any, **kwargs: Any) -> str | None:
    try:
        return reverse(name, args=args or None, kwargs=kwargs or None)
    except NoReverseMatch:
        return None


@register.simple_tag(takes_context=True)
def nav_items(context: template.Context) -> list[dict[str, Any]]:
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return []
    path = request.path
    items = []
    for name, label, icon, role in NAV:
        url = safe_reverse(name)
        if url is None or not access.has_role(request, role):
            continue
        items.append({"url": url, "label": label, "icon": icon, "active": False})
    # The longest matching prefix wins: /efactura/incoming/ is not also /efactura/.
    matches = [
        i for i in items if path == i["url"] or (i["url"] != "/" and path.startswith(i["url"]))
    ]
    if matches:
        max(matches, key=lambda i: len(str(i["url"])))["active"] = True
    return items


@register.simple_tag(takes_context=True)
def company_context(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return {"current": None, "all": []}
    m = access.current_membership(request)
    return {
        "current": m.company if m else None,
        "role": m.get_role_display() if m else "",
        "all": [x.company for x in access.memberships(request)],
    }


# The pages that say whether emails leave (issue 16): where a person looks for invoices.
MAIL_STATUS_PAGES = {"dashboard", "invoices", "invoice"}


@register.simple_tag(takes_context=True)
def mail_status_of(context: template.Context) -> Any:
    """The company's email status on the dashboard and the invoice pages, else None."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    company = getattr(request, "company", None)
    if not match or match.namespace != "web" or match.url_name not in MAIL_STATUS_PAGES:
        return None
    if company is None:
        return None
    from recurent.web.mail_status import mail_status

    # Once per request: the banner and the dashboard's email card read the same answer.
    if not hasattr(request, "_mail_status"):
        request._mail_status = mail_status(company.pk)  # type: ignore[union-attr]
    return request._mail_status  # type: ignore[union-attr]


VAT_RATE_SHORT = {
    "standard": _("standard"),
    "reduced": _("reduced"),
    "reduced-low": _("reduced"),
    "zero": _("zero"),
}


@register.filter
def vat_rate_label(code: str) -> Any:
    """A product's VAT rate code ("reduced") in the user's language."""
    return VAT_RATE_SHORT.get(code, code)


@register.filter
def change_words(change: Any) -> dict[str, Any]:
    """A contract history row in the user's language (not the raw action and field names)."""
    from recurent.web.history import change_text

    return change_text(change)


@register.filter
def service_ends(contract: Any) -> Any:
    """The last service day when the contract ends with a given period (cancelled at period
    end, or unsubscribed from the portal): what the services wrote is ``final_index``."""
    if contract.final_index is None or contract.final_index < 0:
        return None
    try:
        return contract.schedule().period(contract.final_index).end
    except ValueError:
        return None


@register.simple_tag
def portal_link(client_id: int) -> str:
    """The client's current portal link, absolute on the configured site address."""
    from recurent.clients.portal_links import portal_url

    return portal_url(client_id)


@register.simple_tag
def url_or_none(name: str, *args: Any) -> str | None:
    """``{% url_or_none "documents:invoice-pdf" inv.pk as pdf %}{% if pdf %}…``"""
    return safe_reverse(name, *args)


def format_amount(value: Any, currency: str = "RON") -> str:
    """1.234,56 lei in Romanian, 1,234.56 RON in English (grouping per the active language)."""
    if value is None or value == "":
        return ""
    try:
        d = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    text = number_format(d, decimal_pos=2, use_l10n=True, force_grouping=True)
    lang = (get_language() or "ro")[:2]
    unit = "lei" if currency == "RON" and lang == "ro" else currency
    return f"{text}\u00a0{unit}"


@register.filter(name="money")
def money_filter(value: Any, currency: str = "RON") -> str:
    return format_amount(value, currency or "RON")


@register.filter
def qs_replace(querydict: Any, arg: str) -> str:
    """``?{{ request.GET|qs_replace:"page=3" }}``: keeps filters while changing one key."""
    q = querydict.copy()
    key, _sep, value = arg.partition("=")
    q[key] = value
    return str(q.urlencode())
