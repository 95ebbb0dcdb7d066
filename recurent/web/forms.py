"""Forms: field types and labels for the screens. Validation that matters lives in the services."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from recurent.catalog.models import UNIT_NAMES, UNITS, Product
from recurent.clients.models import Client
from recurent.common.addresses import is_bucharest
from recurent.companies.models import Company, InvoiceSeries, Role
from recurent.contracts.models import Contract
from recurent.engine import geo
from recurent.engine.cycles import BUCHAREST, CycleKind
from recurent.engine.money import CURRENCIES

CURRENCY_CHOICES = [(c, c) for c in CURRENCIES]
CYCLE_CHOICES = [
    (CycleKind.WEEKLY.value, _("weekly")),
    (CycleKind.MONTHLY.value, _("monthly")),
    (CycleKind.QUARTERLY.value, _("quarterly")),
    (CycleKind.HALF_YEARLY.value, _("half-yearly")),
    (CycleKind.YEARLY.value, _("yearly")),
    (CycleKind.DAYS.value, _("every N days")),
]
VAT_CATEGORY_CHOICES = [
    ("S", _("S: standard")),
    ("Z", _("Z: zero rated")),
    ("E", _("E: exempt")),
    ("AE", _("AE: reverse charge")),
    ("K", _("K: intra-EU supply")),
    ("G", _("G: export")),
    ("O", _("O: outside the scope of VAT")),
]
VAT_RATE_CHOICES = [
    ("standard", _("standard (21%; 19% until July 2025)")),
    ("reduced", _("reduced (11%; 9% until July 2025)")),
    ("reduced-low", _("reduced (11%; 5% until July 2025)")),
    ("zero", _("zero")),
]


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kw: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kw)


class LocalDateTimeField(forms.DateTimeField):
    """A Bucharest wall time in the browser, an aware instant in Python."""

    widget = LocalDateTimeInput
    input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(BUCHAREST).replace(tzinfo=None)
        return value

    def to_python(self, value: Any) -> datetime | None:  # type: ignore[override]
        result = super().to_python(value)
        if result is not None:
            result = (
                result.astimezone(BUCHAREST)
                if result.tzinfo
                else result.replace(tzinfo=BUCHAREST, fold=0)
            )
        return result


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kw: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kw)


class ProductForm(forms.ModelForm):
    unit_code = forms.ChoiceField(label=_("unit of measure"), choices=UNITS)
    currency = forms.ChoiceField(label=_("currency"), choices=CURRENCY_CHOICES, initial="RON")
    vat_category = forms.ChoiceField(
        label=_("VAT category"), choices=VAT_CATEGORY_CHOICES, initial="S"
    )
    vat_rate = forms.ChoiceField(label=_("VAT rate"), choices=VAT_RATE_CHOICES, initial="standard")

    class Meta:
        model = Product
        fields = [
            "code", "name", "unit_price", "currency", "unit_code", "unit_name",
            "vat_category", "vat_rate", "description", "active", "self_service",
        ]  # fmt: skip
        widgets = {"description": forms.Textarea(attrs={"rows": 3, "wide": True})}

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.fields["unit_name"].required = False
        self.fields["unit_name"].help_text = _(
            "Printed on the invoice; follows the unit of measure unless you type another."
        )
        # The browser follows the code with these names too (products/form.html).
        self.fields["unit_code"].widget.attrs["data-unit-names"] = json.dumps(UNIT_NAMES)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        code, name = data.get("unit_code"), (data.get("unit_name") or "").strip()
        # A name that is empty or the automatic name of another code was not typed by the user:
        # it follows the code ("lună" for MON, not the "buc" the form started with).
        if code in UNIT_NAMES and (not name or name in UNIT_NAMES.values()):
            data["unit_name"] = UNIT_NAMES[code]
        return data


COUNTY_CHOICES = [("", "—")] + sorted(
    ((code, name) for code, name in geo.COUNTIES.items()), key=lambda c: c[1]
)
SECTOR_CHOICES = [("", "—")] + [(str(n), f"Sector {n}") for n in range(1, 7)]  # same in Romanian


class AddressForm(forms.ModelForm):
    """Address fields as people write them: a county list for Romania, "București" with a sector
    picker (or "Sector 3", "sectorul 3", "S3" typed in the city), a free region elsewhere.

    The rule itself is recurent.common.addresses (run by the services); this form only offers
    the choices and says which fields a Romanian address needs.
    """

    sector = forms.ChoiceField(label=_("Sector"), choices=SECTOR_CHOICES, required=False)

    def _setup_address(self) -> None:
        county = self.fields["county"]
        county.widget = forms.Select(choices=COUNTY_CHOICES)
        county.required = False  # required for Romania only; the service says so in words
        county.show_required = True  # type: ignore[attr-defined]
        county.help_text = _("For a Romanian address.")
        self.fields["sector"].help_text = _("For an address in Bucharest.")
        self.fields["city"].required = False  # "București" + a sector fills it
        self.fields["city"].show_required = True  # type: ignore[attr-defined]
        instance = self.instance
        if not self.is_bound and instance and (instance.city or "").startswith("SECTOR"):
            self.initial["city"] = "București"
            self.initial["sector"] = instance.city[-1]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # Not a column: it only writes the city (SECTORn), which is what the invoice needs.
        sector, county = data.pop("sector", ""), data.get("county") or ""
        if sector and is_bucharest(county):
            data["city"] = f"SECTOR{sector}"
        if not data.get("city"):
            self.add_error("city", _("Give the city."))
        return data

    def _post_clean(self) -> None:
        # The service validates (and normalizes) the whole record once; the model's own pass
        # here would show the same IBAN or county error a second time, in English.
        pass


class ClientForm(AddressForm):
    emails = forms.CharField(
        label=_("Email addresses"),
        required=False,
        help_text=_("Separate several addresses with commas."),
    )

    class Meta:
        model = Client
        fields = [
            "kind", "name", "tax_id", "trade_register", "street", "city", "county", "postal_code",
            "country", "region", "emails", "iban", "bank", "payment_term_days", "vat_on_collection",
            "inactive_at_anaf", "one_invoice_per_client", "notes",
        ]  # fmt: skip
        widgets = {"notes": forms.Textarea(attrs={"rows": 3, "wide": True})}

    field_order = [
        "kind", "name", "tax_id", "trade_register", "street", "city", "county", "sector",
        "postal_code", "country", "region",
    ]  # fmt: skip

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        if self.instance and isinstance(self.instance.emails, list) and not self.is_bound:
            self.initial["emails"] = ", ".join(self.instance.emails)
        self._setup_address()

    def clean_emails(self) -> list[str]:
        from django.core.validators import validate_email

        raw = self.cleaned_data.get("emails") or ""
        emails = [e.strip() for e in raw.replace(";", ",").split(",") if e.strip()]
        for addr in emails:
            try:
                validate_email(addr)
            except forms.ValidationError:
                raise forms.ValidationError(
                    _("%(address)s is not a valid email address"),
                    code="email_invalid",
                    params={"address": addr},
                ) from None
        return emails


class SeriesForm(forms.ModelForm):
    class Meta:
        model = InvoiceSeries
        fields = ["code", "next_number", "width", "yearly_restart", "is_default", "is_credit"]


class LogoInput(forms.ClearableFileInput):
    """The "current logo" link goes to the app's own logo view: media files are not served."""

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        if context["widget"]["is_initial"]:
            context["widget"]["value"] = _Current(str(value), reverse("web:company-logo"))
        return context


class _Current:
    def __init__(self, name: str, url: str) -> None:
        self.name, self.url = name.rsplit("/", 1)[-1], url

    def __str__(self) -> str:
        return self.name


class CompanyForm(AddressForm):
    field_order = [
        "legal_name", "cui", "trade_register", "street", "city", "county", "sector", "postal_code",
    ]  # fmt: skip

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self._setup_address()
        if "proration_policy" in self.fields:  # not on the set-up's company step either
            self.fields["proration_policy"].required = False
        if "review_stale_days" in self.fields:  # not on the set-up's company step (a subclass)
            self.fields["review_stale_days"].required = False  # empty: kept as it is
        if "usage_cutoff_days" in self.fields:  # contracts.usage: empty keeps it as it is
            self.fields["usage_cutoff_days"].required = False

    def clean_usage_cutoff_days(self) -> int:
        days = self.cleaned_data.get("usage_cutoff_days")
        return self.instance.usage_cutoff_days if days is None else days

    def clean_review_stale_days(self) -> int:
        days = self.cleaned_data.get("review_stale_days")
        return self.instance.review_stale_days if days is None else days

    def clean_proration_policy(self) -> str:
        # Absent from a post (a script, an older page): the company keeps its policy.
        return self.cleaned_data.get("proration_policy") or self.instance.proration_policy

    class Meta:
        model = Company
        fields = [
            "legal_name", "cui", "trade_register", "street", "city", "county", "postal_code",
            "country", "iban", "bank", "vat_payer", "vat_on_collection", "share_capital",
            "email", "phone", "logo", "proration_policy",
            "review_before_issue", "review_stale_days", "usage_cutoff_days",
        ]  # fmt: skip
        widgets = {"logo": LogoInput(attrs={"accept": "image/png,image/jpeg"})}


class ContractForm(forms.ModelForm):
    first_issue_at = LocalDateTimeField(label=_("first invoice at"))
    ends_at = LocalDateTimeField(
        label=_("ends at"), required=False, help_text=_("Empty: until cancelled.")
    )
    cycle = forms.ChoiceField(label=_("cycle"), choices=CYCLE_CHOICES, initial="monthly")
    currency = forms.ChoiceField(label=_("price currency"), choices=CURRENCY_CHOICES, initial="RON")
    invoice_currency = forms.ChoiceField(
        label=_("invoice currency"), choices=CURRENCY_CHOICES, initial="RON"
    )
    # Yearly indexation (docs/indexation.md): the choices in words, the codes as stored.
    index_method = forms.ChoiceField(
        label=_("yearly indexation"),
        initial="none",
        required=False,  # a form (or a page) without the fields: no indexation
        choices=[
            ("none", _("no indexation")),
            ("fixed", _("by a fixed percentage")),
            ("cpi", _("by the annual inflation rate (INS)")),
            ("eur", _("re-pegged to EUR at the BNR rate")),
        ],
    )
    index_date_rule = forms.ChoiceField(
        label=_("indexation day"),
        initial="anniversary",
        required=False,
        choices=[
            ("anniversary", _("the anniversary of the contract date")),
            ("fixed", _("a fixed day and month")),
        ],
    )

    class Meta:
        model = Contract
        fields = [
            "client", "number", "signed_on", "first_issue_at", "ends_at",
            "series", "issuer", "cycle", "every_days", "in_arrears", "payment_term_days",
            "currency", "invoice_currency", "auto_email", "email_template_code",
            "proforma_first", "proforma_valid_days", "review_before_issue",
            "interest_rule", "interest_daily_percent",
            "index_method", "index_percent", "index_date_rule", "index_day", "index_month",
            "index_notice_days",
        ]  # fmt: skip
        widgets = {"signed_on": DateInput()}

    GENERAL = ("client", "number", "signed_on", "first_issue_at", "ends_at")
    BILLING = (
        "series", "issuer", "cycle", "every_days", "in_arrears", "payment_term_days",
        "currency", "invoice_currency", "auto_email", "email_template_code",
        "proforma_first", "proforma_valid_days", "review_before_issue",
        "interest_rule", "interest_daily_percent",
        "index_method", "index_percent", "index_date_rule", "index_day", "index_month",
        "index_notice_days",
    )  # fmt: skip

    def __init__(self, *a: Any, company: Company, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.fields["client"].queryset = Client.objects.filter(company=company).order_by("name")  # type: ignore[attr-defined]
        series = InvoiceSeries.objects.filter(company=company, is_credit=False)
        self.fields["series"].queryset = series  # type: ignore[attr-defined]
        self.fields["issuer"].queryset = (  # type: ignore[attr-defined]
            get_user_model().objects.filter(memberships__company=company).order_by("username")
        )
        self.fields["series"].label = _("series of the invoices")
        self.fields["issuer"].label = _("invoices issued by")
        self.fields["every_days"].help_text = _("Only for the cycle 'every N days'.")
        self.fields["index_percent"].help_text = _("Only for a fixed percentage.")
        self.fields["index_day"].help_text = _("Only for a fixed day and month.")
        self.fields["index_notice_days"].required = False
        self.fields["proforma_valid_days"].required = False  # empty: the model's default
        # "5,5" as a Romanian types it, like the other amounts of the form.
        self.fields["index_percent"].localize = True
        self.fields["index_percent"].widget.is_localized = True
        self._template_choices(company)

    def _template_choices(self, company: Company) -> None:
        """The email template is one of the company's invoice templates, not a typed code."""
        from recurent.mail.models import EmailTemplate, TemplateKind

        templates = list(
            EmailTemplate.objects.filter(company=company, kind=TemplateKind.INVOICE).order_by(
                "language", "name"
            )
        )
        choices = [("", _("the default template, in the client's language"))] + [
            (t.code, f"{t.name} ({t.get_language_display()})") for t in templates
        ]
        current = self.instance.email_template_code if self.instance else ""
        if current and current not in {t.code for t in templates}:
            choices.append((current, _("%(code)s (no longer exists)") % {"code": current}))
        old = self.fields["email_template_code"]
        self.fields["email_template_code"] = forms.ChoiceField(
            label=old.label, choices=choices, required=False
        )
        # What the browser shows under the choice (contracts/form.html).
        self.template_previews = {
            t.code or "": {"subject": t.subject, "body": t.body_text[:800]} for t in templates
        }
        default = next(
            (t for t in templates if t.is_default and t.language == "ro"),
            next((t for t in templates if t.is_default), None),
        )
        if default is not None:
            self.template_previews[""] = {
                "subject": default.subject,
                "body": default.body_text[:800],
            }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # Said here in words: the engine would answer "got None" for an empty N.
        if data.get("cycle") == CycleKind.DAYS.value and not data.get("every_days"):
            self.add_error("every_days", _("Give the number of days between two invoices."))
        return data

    def clean_index_method(self) -> str:
        return self.cleaned_data.get("index_method") or "none"

    def clean_index_date_rule(self) -> str:
        return self.cleaned_data.get("index_date_rule") or "anniversary"

    def clean_index_notice_days(self) -> int:
        days = self.cleaned_data.get("index_notice_days")
        return 30 if days is None else days

    def clean_proforma_valid_days(self) -> int:
        days = self.cleaned_data.get("proforma_valid_days")
        default = Contract._meta.get_field("proforma_valid_days").default
        return default if days is None else days  # type: ignore[no-any-return]

    def general(self) -> list[forms.BoundField]:
        return [self[f] for f in self.GENERAL]

    def billing(self) -> list[forms.BoundField]:
        return [self[f] for f in self.BILLING]

    def _post_clean(self) -> None:
        # The service validates the whole contract (with its lines); skip the model's own pass,
        # which would fail on the company the form does not carry.
        pass


class ContractLineForm(forms.Form):
    product = forms.ModelChoiceField(label=_("product"), queryset=Product.objects.none())
    quantity = forms.DecimalField(
        label=_("quantity"), max_digits=14, decimal_places=4, min_value=0, initial=1, localize=True
    )
    unit_price = forms.DecimalField(
        label=_("unit price"), max_digits=16, decimal_places=4, required=False, localize=True,
        help_text=_("Empty: the catalogue price."),
    )  # fmt: skip
    description = forms.CharField(label=_("description"), max_length=100, required=False)
    # What the client may do from the portal (ContractLine.self_service and its bounds).
    portal = forms.BooleanField(label=_("the client may change it from the portal"), required=False)
    portal_min = forms.DecimalField(label=_("min."), max_digits=14, decimal_places=4, required=False, localize=True)  # fmt: skip
    portal_max = forms.DecimalField(label=_("max."), max_digits=14, decimal_places=4, required=False, localize=True)  # fmt: skip
    portal_step = forms.DecimalField(label=_("step"), max_digits=14, decimal_places=4, required=False, localize=True)  # fmt: skip

    def __init__(self, *a: Any, products: Any = None, **kw: Any) -> None:
        super().__init__(*a, **kw)
        if products is not None:
            self.fields["product"].queryset = products  # type: ignore[attr-defined]

    def portal_bounds(self) -> list[forms.BoundField]:
        return [self["portal_min"], self["portal_max"], self["portal_step"]]


ContractLineFormSet = forms.formset_factory(
    ContractLineForm, extra=0, min_num=1, validate_min=True, can_delete=True
)


class BillingRunForm(forms.Form):
    as_of = LocalDateTimeField(
        label=_("as of"),
        required=False,
        help_text=_(
            "Empty: now. A later instant only with a preview (dry run): a real run cannot be "
            "dated in the future."
        ),
    )
    dry_run = forms.BooleanField(
        label=_("preview only (dry run): issue nothing"), required=False, initial=True
    )


class CancelForm(forms.Form):
    at_period_end = forms.BooleanField(label=_("at the end of the current period"), required=False)
    # Ticked by default under the company's "immediately" proration policy (invoices.cancellation).
    credit_unused = forms.BooleanField(
        label=_("credit the unused days of the period already invoiced"), required=False
    )


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("email"))
    first_name = forms.CharField(label=_("first name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("last name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("role"), choices=Role.choices, initial=Role.ACCOUNTANT)
    password = forms.CharField(
        label=_("password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to email them a link where they choose their own password."),
    )


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("name"),
        max_length=100,
        help_text=_("Which system uses the token, e.g. “accounting export”."),
    )
