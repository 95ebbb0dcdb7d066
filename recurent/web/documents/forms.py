"""Forms of the documents screens. The rules live in the model validators and in
``annexes.check_annex`` (called by ``services.annex_add``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from recurent.documents.annexes import MAX_TOTAL_BYTES, TYPES
from recurent.documents.models import DocumentSettings


class ColorInput(forms.TextInput):
    input_type = "color"


def _to_bool(value: Any) -> bool:
    return value in (True, "True", "true", "1")


class DocumentSettingsForm(forms.ModelForm):
    bilingual = forms.TypedChoiceField(
        label=_("Language of the labels"),
        choices=[("False", _("Romanian")), ("True", _("Romanian and English"))],
        coerce=_to_bool,
        help_text=_("Bilingual labels suit clients outside Romania; the content stays as issued."),
    )

    class Meta:
        model = DocumentSettings
        fields = ["accent_color", "footer_text", "bilingual"]
        widgets = {
            "accent_color": ColorInput(),
            "footer_text": forms.Textarea(attrs={"rows": 2, "wide": True, "maxlength": 300}),
        }
        labels = {"accent_color": _("Accent colour"), "footer_text": _("Footer text")}
        help_texts = {
            "accent_color": _("Headings, the table header and the total to pay."),
            "footer_text": _("Printed at the bottom of every page, e.g. a thank-you note."),
        }


ACCEPT = ",".join(sorted(TYPES))  # ".csv,.jpeg,.jpg,.ods,.pdf,.png,.xlsx"


class AnnexForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("PDF, PNG, JPEG, CSV, XLSX or ODS; at most 7 MB for all the annexes together."),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=100,
        required=False,
        help_text=_("E.g. signed contract, usage report for January."),
    )

    def clean_file(self) -> Any:
        f = self.cleaned_data["file"]
        # Refused before reading it into memory; annex_add checks the total again.
        if f.size > MAX_TOTAL_BYTES:
            mb = MAX_TOTAL_BYTES // (1024 * 1024)
            raise ValidationError(
                _(
                    "the annexes of one invoice may total at most %(mb)s MB (ANAF refuses uploads over 10 MB)"
                ),
                code="annexes_too_large",
                params={"mb": mb},
            )
        return f
