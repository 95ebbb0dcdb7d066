"""The templates every company starts with (created on demand, then editable)."""

from __future__ import annotations

DEFAULT_TEMPLATES: list[dict[str, str]] = [
    {
        "code": "factura-ro",
        "name": "Factură (implicit)",
        "kind": "invoice",
        "language": "ro",
        "subject": "Factura {{ invoice.full_number }} de la {{ company.name }}",
        "body_text": """Bună ziua, {{ client.name }},

Vă transmitem factura {{ invoice.full_number }} din {{ invoice.issue_date }}{% if invoice.period %}, pentru perioada {{ invoice.period }}{% endif %}.

Total de plată: {{ invoice.total }}
Scadență: {{ invoice.due_date }}
{% if company.iban %}Cont: {{ company.iban }}{% if company.bank %} ({{ company.bank }}){% endif %}
{% endif %}

Factura și istoricul plăților sunt disponibile și aici: {{ portal_url }}

Vă mulțumim,
{{ company.name }}
""",
        "body_html": """<p>Bună ziua, {{ client.name }},</p>
<p>Vă transmitem factura <strong>{{ invoice.full_number }}</strong> din {{ invoice.issue_date }}{% if invoice.period %}, pentru perioada {{ invoice.period }}{% endif %}.</p>
<table>
<tr><td>Total de plată:</td><td><strong>{{ invoice.total }}</strong></td></tr>
<tr><td>Scadență:</td><td>{{ invoice.due_date }}</td></tr>
{% if company.iban %}<tr><td>Cont:</td><td>{{ company.iban }}{% if company.bank %} ({{ company.bank }}){% endif %}</td></tr>{% endif %}
</table>
<p>Factura și istoricul plăților sunt disponibile și <a href="{{ portal_url }}">în portalul clientului</a>.</p>
<p>Vă mulțumim,<br>{{ company.name }}</p>
""",
    },
    {
        "code": "invoice-en",
        "name": "Invoice (default)",
        "kind": "invoice",
        "language": "en",
        "subject": "Invoice {{ invoice.full_number }} from {{ company.name }}",
        "body_text": """Hello {{ client.name }},

Please find attached invoice {{ invoice.full_number }} dated {{ invoice.issue_date }}{% if invoice.period %}, for the period {{ invoice.period }}{% endif %}.

Amount due: {{ invoice.total }}
Due date: {{ invoice.due_date }}
{% if company.iban %}Bank account: {{ company.iban }}{% if company.bank %} ({{ company.bank }}){% endif %}
{% endif %}

Your invoices and payments are also available here: {{ portal_url }}

Thank you,
{{ company.name }}
""",
        "body_html": """<p>Hello {{ client.name }},</p>
<p>Please find attached invoice <strong>{{ invoice.full_number }}</strong> dated {{ invoice.issue_date }}{% if invoice.period %}, for the period {{ invoice.period }}{% endif %}.</p>
<table>
<tr><td>Amount due:</td><td><strong>{{ invoice.total }}</strong></td></tr>
<tr><td>Due date:</td><td>{{ invoice.due_date }}</td></tr>
{% if company.iban %}<tr><td>Bank account:</td><td>{{ company.iban }}{% if company.bank %} ({{ company.bank }}){% endif %}</td></tr>{% endif %}
</table>
<p>Your invoices and payments are also available in <a href="{{ portal_url }}">the client portal</a>.</p>
<p>Thank you,<br>{{ company.name }}</p>
""",
    },
    {
        "code": "reminder-ro",
        "name": "Reamintire de plată (implicit)",
        "kind": "reminder",
        "language": "ro",
        "subject": "Reamintire: factura {{ invoice.full_number }}{% if reminder.days_overdue != '0' %} este restantă{% else %} are scadența {{ invoice.due_date }}{% endif %}",
        "body_text": """Bună ziua, {{ client.name }},

{% if reminder.days_overdue != '0' %}Factura {{ invoice.full_number }} din {{ invoice.issue_date }}, în valoare de {{ invoice.total }}, a ajuns la scadență pe {{ invoice.due_date }} și figurează neachitată de {{ reminder.days_overdue }} zile.{% else %}Vă reamintim că factura {{ invoice.full_number }} din {{ invoice.issue_date }}, în valoare de {{ invoice.total }}, are scadența {{ invoice.due_date }}.{% endif %}

{% if company.iban %}Cont: {{ company.iban }}{% if company.bank %} ({{ company.bank }}){% endif %}
{% endif %}
Detalii: {{ portal_url }}

Dacă ați efectuat deja plata, vă rugăm să ignorați acest mesaj.

Vă mulțumim,
{{ company.name }}
""",
        "body_html": """<p>Bună ziua, {{ client.name }},</p>
{% if reminder.days_overdue != '0' %}<p>Factura <strong>{{ invoice.full_number }}</strong> din {{ invoice.issue_date }}, în valoare de <strong>{{ invoice.total }}</strong>, a ajuns la scadență pe {{ invoice.due_date }} și figurează neachitată de {{ reminder.days_overdue }} zile.</p>{% else %}<p>Vă reamintim că factura <strong>{{ invoice.full_number }}</strong> din {{ invoice.issue_date }}, în valoare de <strong>{{ invoice.total }}</strong>, are scadența {{ invoice.due_date }}.</p>{% endif %}
{% if company.iban %}<p>Cont: {{ company.iban }}{% if company.bank %} ({{ company.bank }}){% endif %}</p>{% endif %}
<p><a href="{{ portal_url }}">Detalii în portalul clientului</a></p>
<p>Dacă ați efectuat deja plata, vă rugăm să ignorați acest mesaj.</p>
<p>Vă mulțumim,<br>{{ company.name }}</p>
""",
    },
    {
        "code": "reminder-en",
        "name": "Payment reminder (default)",
        "kind": "reminder",
        "language": "en",
        "subject": "Reminder: invoice {{ invoice.full_number }}{% if reminder.days_overdue != '0' %} is overdue{% else %} is due on {{ invoice.due_date }}{% endif %}",
        "body_text": """Hello {{ client.name }},

{% if reminder.days_overdue != '0' %}Invoice {{ invoice.full_number }} dated {{ invoice.issue_date }}, for {{ invoice.total }}, was due on {{ invoice.due_date }} and has been unpaid for {{ reminder.days_overdue }} days.{% else %}This is a reminder that invoice {{ invoice.full_number }} dated {{ invoice.issue_date }}, for {{ invoice.total }}, is due on {{ invoice.due_date }}.{% endif %}

{% if company.iban %}Bank account: {{ company.iban }}{% if company.bank %} ({{ company.bank }}){% endif %}
{% endif %}
Details: {{ portal_url }}

If you have already paid, please ignore this message.

Thank you,
{{ company.name }}
""",
        "body_html": """<p>Hello {{ client.name }},</p>
{% if reminder.days_overdue != '0' %}<p>Invoice <strong>{{ invoice.full_number }}</strong> dated {{ invoice.issue_date }}, for <strong>{{ invoice.total }}</strong>, was due on {{ invoice.due_date }} and has been unpaid for {{ reminder.days_overdue }} days.</p>{% else %}<p>This is a reminder that invoice <strong>{{ invoice.full_number }}</strong> dated {{ invoice.issue_date }}, for <strong>{{ invoice.total }}</strong>, is due on {{ invoice.due_date }}.</p>{% endif %}
{% if company.iban %}<p>Bank account: {{ company.iban }}{% if company.bank %} ({{ company.bank }}){% endif %}</p>{% endif %}
<p><a href="{{ portal_url }}">Details in the client portal</a></p>
<p>If you have already paid, please ignore this message.</p>
<p>Thank you,<br>{{ company.name }}</p>
""",
    },
]
