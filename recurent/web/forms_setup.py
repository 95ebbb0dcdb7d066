"""Forms of the guided set-up (recurent/web/views/setup.py): subsets of the company's own forms,
so the wizard and the settings pages check the same fields the same way."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from recurent.companies.models import Company, InvoiceSeries
from recurent.web.forms import CompanyForm, LogoInput


class SetupCompanyForm(CompanyForm):
    """Step 1: who issues the invoices (CUI first: ANAF's registry fills the rest)."""

    field_order = [
        "cui", "legal_name", "trade_register", "street", "city", "county", "sector",
        "postal_code", "vat_payer", "vat_on_collection", "email", "phone",
    ]  # fmt: skip

    class Meta(CompanyForm.Meta):
        fields = [
            "cui", "legal_name", "trade_register", "street", "city", "county", "postal_code",
            "country", "vat_payer", "vat_on_collection", "email", "phone",
        ]  # fmt: skip


class SetupBankForm(forms.ModelForm):
    """Step 2: the account clients pay into (printed on every invoice) and the logo."""

    class Meta:
        model = Company
        fields = ["iban", "bank", "logo"]
        widgets = {"logo": LogoInput(attrs={"accept": "image/png,image/jpeg"})}

    def _post_clean(self) -> None:
        # company_update validates the whole record once (IBAN with its reason in Romanian).
        pass


class SetupSeriesForm(forms.ModelForm):
    """Step 3: the invoice series (numbers without gaps start here)."""

    class Meta:
        model = InvoiceSeries
        fields = ["code", "next_number", "yearly_restart"]
        help_texts = {
            "code": _("Letters printed before the number, e.g. FCT: FCT-000001."),
            "next_number": _("1 for a new business; the next free number when moving from "
                             "another program."),
        }  # fmt: skip

    def _post_clean(self) -> None:
        pass
