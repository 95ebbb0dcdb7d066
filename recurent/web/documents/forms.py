"""Forms of the documents screens. The rules live in the model validators and in
``annexes.check_annex`` (called by ``services.annex_add``)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_noop
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
                )
                % {"mb": mb}
            )
        return f


# ``annexes.check_annex`` refuses in English (the API and the command line show it as is); the
# screens show the same reason in the user's language. A refusal that embeds a value is matched by
# a pattern and re-built from a translatable template; anything else is shown as it came.
ANNEX_REFUSALS = [
    (re.compile(r"^a file name of 1 to 200 characters is needed$"),
     gettext_noop("a file name of 1 to 200 characters is needed")),
    (re.compile(r"^(?P<ext>\S+) files are not accepted by e-Factura; use PDF, PNG, JPEG, CSV, XLSX or ODS$"),
     gettext_noop("%(ext)s files are not accepted by e-Factura; use PDF, PNG, JPEG, CSV, XLSX or ODS")),
    (re.compile(r"^the file is empty$"), gettext_noop("the file is empty")),
    (re.compile(r"^the content of (?P<name>.+) is not a (?P<type>\S+) file$"),
     gettext_noop("the content of %(name)s is not a %(type)s file")),
    (re.compile(r"^the annexes of one invoice may total at most (?P<mb>\d+) MB \(ANAF refuses uploads over 10 MB\)$"),
     gettext_noop("the annexes of one invoice may total at most %(mb)s MB (ANAF refuses uploads over 10 MB)")),
    (re.compile(r"^at most 100 characters \(BR-RO-L1020\)$"),
     gettext_noop("at most 100 characters (BR-RO-L1020)")),
]  # fmt: skip


def translate_refusal(message: str) -> str:
    for pattern, template in ANNEX_REFUSALS:
        m = pattern.match(message)
        if m:
            return gettext(template) % m.groupdict()
    return message
