"""Log lines that can be shipped anywhere: one JSON object per line when asked, and no personal
or secret data in any line, whatever code logged it.

Redaction works on the formatted line (message, arguments and traceback alike), so a value that
reaches a log through an exception's text is masked too: IBANs (``RO49AAAA1B31007593840000`` →
``RO49…0000``), CNPs and other 13-digit personal numbers, API tokens (``rct_…``), bearer tokens,
and ``password=``/``secret=``/``token=`` pairs.

``RECURENT_LOG_FORMAT=json`` switches the console to JSON, with the company, contract and invoice
ids a caller passes as ``extra={"company_id": …}``.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b")
PERSONAL_NUMBER = re.compile(r"(?<!\d)[1-9]\d{12}(?!\d)")
API_TOKEN = re.compile(r"\brct_[A-Za-z0-9_\-]{8,}")
BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/\-]{8,}=*")
SECRET_PAIR = re.compile(
    r"(?i)\b(password|passwd|secret|token|api_key|apikey|client_secret)(\s*[=:]\s*)([^\s,;&'\"]+)"
)
IDS = ("company_id", "contract_id", "invoice_id", "client_id", "run_id")


def _mask_iban(m: re.Match[str]) -> str:
    compact = m.group(0).replace(" ", "")
    return f"{compact[:4]}…{compact[-4:]}"


def redact(text: str) -> str:
    text = API_TOKEN.sub("rct_…", text)
    text = BEARER.sub(r"\1 …", text)
    text = SECRET_PAIR.sub(r"\1\2…", text)
    text = IBAN.sub(_mask_iban, text)
    return PERSONAL_NUMBER.sub("…", text)


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key in IDS:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)
