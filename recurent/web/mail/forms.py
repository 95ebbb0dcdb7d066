"""Forms of the mail screens: field types, labels and help. The rules live in the services
(templates are checked by ``templating.validate_template`` when saved, SMTP settings by
``services.smtp_settings_save``); a service's ValidationError is put next to its field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from recurent.mail.models import EmailTemplate, Security, SmtpSettings, TemplateKind


def apply_errors(
    form: forms.BaseForm, err: ValidationError, aliases: dict[str, str] | None = None
) -> None:
    """A service's ValidationError next to the matching field; the rest above the form."""
    if not hasattr(err, "error_dict"):
        for message in err.messages:
            form.add_error(None, message)
        return
    for field, messages in err.message_dict.items():
        target = (aliases or {}).get(field, field)
        for message in messages:
            if target in form.fields:
                form.add_error(target, message)
            else:
                form.add_error(None, message if field == "__all__" else f"{field}: {message}")


def _readonly(form: forms.BaseForm) -> None:
    for f in form.fields.values():
        f.disabled = True


# ---- templates ------------------------------------------------------------------------


class EmailTemplateForm(forms.ModelForm):
    class Meta:
        model = EmailTemplate
        fields = [
            "name",
            "code",
            "kind",
            "language",
            "is_default",
            "subject",
            "body_html",
            "body_text",
        ]
        widgets = {
            "subject": forms.TextInput(attrs={"wide": True, "class": "mono"}),
            "body_html": forms.Textarea(attrs={"rows": 14, "wide": True, "class": "mono", "spellcheck": "false"}),
            "body_text": forms.Textarea(attrs={"rows": 10, "wide": True, "class": "mono", "spellcheck": "false"}),
        }  # fmt: skip
        help_texts = {
            "code": _("Letters, digits and dashes; a contract chooses its template by this code."),
            "is_default": _(
                "Used for the clients of this language when a contract names no template."
            ),
            "body_html": _("The email as HTML; values are escaped automatically."),
            "body_text": _("The same email as plain text, for mail programs that show no HTML."),
        }

    def __init__(self, *args: Any, company: Any, readonly: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.company = company
        self.company = company
        if readonly:
            _readonly(self)

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"]
        taken = EmailTemplate.objects.filter(company=self.company, code=code).exclude(
            pk=self.instance.pk
        )
        if taken.exists():
            raise ValidationError(gettext("Another template already has this code."))
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        was = self.initial
        # The sender falls back to the default of the client's language: one must remain.
        if was.get("is_default") and (
            not data.get("is_default")
            or data.get("kind") != was.get("kind")
            or data.get("language") != was.get("language")
        ):
            others = EmailTemplate.objects.filter(
                company=self.company, kind=was.get("kind"), language=was.get("language"),
                is_default=True,
            ).exclude(pk=self.instance.pk)  # fmt: skip
            if not others.exists():
                self.add_error(
                    "is_default",
                    gettext(
                        "This is the default template for its kind and language: "
                        "make another one the default first."
                    ),
                )
        return data


# ---- SMTP settings ----------------------------------------------------------------------


class SmtpSettingsForm(forms.Form):
    """The SMTP settings. The password is write-only: never rendered, blank keeps it."""

    host = forms.CharField(label=_("SMTP server"), max_length=200)
    port = forms.IntegerField(
        label=_("Port"),
        min_value=1,
        max_value=65535,
        required=False,
        help_text=_("Empty: 587 for STARTTLS, 465 for SSL, 25 without encryption."),
    )
    security = forms.ChoiceField(label=_("Security"), choices=Security.choices)
    username = forms.CharField(label=_("User"), max_length=200, required=False)
    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    forget_password = forms.BooleanField(label=_("Remove the stored password"), required=False)
    from_email = forms.EmailField(label=_("From address"))
    from_name = forms.CharField(
        label=_("From name"),
        max_length=200,
        required=False,
        help_text=_("Empty: the company's name."),
    )
    reply_to = forms.EmailField(
        label=_("Reply-to address"),
        required=False,
        help_text=_("Empty: the company's email address."),
    )
    bcc_company = forms.BooleanField(label=_("Send a blind copy of every message"), required=False)
    bcc_address = forms.EmailField(
        label=_("Blind-copy address"),
        required=False,
        help_text=_("Empty: the company's email address."),
    )
    timeout = forms.IntegerField(
        label=_("Timeout (seconds)"), min_value=1, max_value=300, initial=30
    )

    def __init__(self, *args: Any, instance: SmtpSettings | None = None, **kwargs: Any) -> None:
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                name: getattr(instance, name)
                for name in (
                    "host", "port", "security", "username", "from_email", "from_name",
                    "reply_to", "bcc_company", "bcc_address", "timeout",
                )
            }  # fmt: skip  # never the password
        super().__init__(*args, **kwargs)
        self.has_password = bool(instance and instance.password_encrypted)
        self.fields["password"].help_text = (
            _("A password is stored. Leave empty to keep it.")
            if self.has_password
            else _("No password stored.")
        )

    def service_kwargs(self) -> dict[str, Any]:
        """Arguments for ``services.smtp_settings_save``: ``password=None`` keeps the stored one."""
        data = dict(self.cleaned_data)
        forget = data.pop("forget_password", False)
        password = data.pop("password", "")
        data["password"] = "" if forget else (password or None)
        for name in ("reply_to", "bcc_address", "from_name", "username"):
            data[name] = data.get(name) or ""
        return data


# ---- reminders --------------------------------------------------------------------------


class ReminderRuleForm(forms.Form):
    offset_days = forms.IntegerField(
        label=_("Days after the due date"),
        min_value=-60,
        max_value=365,
        help_text=_("Negative: before the due date (−3 is three days before); 0 is on the day."),
    )
    template_code = forms.ChoiceField(label=_("Template"), required=False)

    def __init__(self, *args: Any, company: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        templates = EmailTemplate.objects.filter(
            company=company, kind=TemplateKind.REMINDER
        ).order_by("language", "code")
        self.fields["template_code"].choices = [  # type: ignore[attr-defined]
            ("", gettext("the default reminder for the client's language"))
        ] + [(t.code, f"{t.name} ({t.code}, {t.language})") for t in templates]
