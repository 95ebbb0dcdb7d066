"""Client of ANAF's e-Factura REST API (SPV): upload/uploadb2c, stareMesaj, descarcare, listaMesajeFactura.

Base URL per environment, e.g. ``https://api.anaf.ro/test/FCTEL/rest/``; every call carries
``Authorization: Bearer <access token>``. Errors (see ``http``):
- ``AnafUnavailable``: timeout, refused connection, 5xx (``sent`` says if it may have arrived);
- ``AnafRateLimited``: 429, or an empty 204 where an answer was due;
- ``AnafUnauthorized``: 401/403;
- ``AnafMalformed``: an answer that is not in the documented shape (names what is wrong);
- ``AnafRefused``: ANAF answered with a business error (its messages in ``errors``).
"""

from __future__ import annotations

import io
import json
import re
import urllib.parse
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree

from recurent.common import safezip

from .http import (
    AnafError,
    AnafMalformed,
    AnafRateLimited,
    RateLimiter,
    Response,
    request,
)

STANDARD_INVOICE = "UBL"
STANDARD_CREDIT_NOTE = "CN"
ENDPOINT_B2B = "upload"
# Invoices to consumers (a buyer who is a natural person, with a CNP or without one): ANAF's
# B2C endpoint, live since 2025 and mandatory for B2C since 2025-03-31. Same query
# parameters and answers as ``upload`` (Odoo's l10n_ro_edi routes every non-company buyer
# there; docs/efactura.md).
ENDPOINT_B2C = "uploadb2c"

STATE_OK = "ok"
STATE_NOK = "nok"
STATE_PROCESSING = "in prelucrare"
STATE_XML_ERRORS = "XML cu erori nepreluat de sistem"

# ANAF answers listaMesajeFactura with an ``eroare`` also when there is simply nothing to list.
_NO_MESSAGES = re.compile(r"nu exista mesaje", re.IGNORECASE)
# stareMesaj/descarcare refusals because a per-message daily quota is used up.
_QUOTA = re.compile(r"(s-au facut deja|limita|limit)", re.IGNORECASE)

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


class AnafRefused(AnafError):
    """ANAF understood the request and refused it; ``errors`` are its own words."""

    def __init__(self, what: str, errors: list[str]) -> None:
        super().__init__(f"{what}: " + "; ".join(errors))
        self.errors = errors

    @property
    def quota_exceeded(self) -> bool:
        return any(_QUOTA.search(e) for e in self.errors)


@dataclass(frozen=True)
class UploadAnswer:
    upload_index: str | None  # index_incarcare, set when ExecutionStatus == 0
    errors: list[str]
    response_date: str = ""

    @property
    def accepted_for_processing(self) -> bool:
        return self.upload_index is not None


@dataclass(frozen=True)
class StatusAnswer:
    state: str  # one of STATE_*
    download_id: str | None
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Message:
    id: str  # the download id (descarcare?id=)
    upload_index: str  # id_solicitare
    cif: str
    kind: str  # tip: "FACTURA TRIMISA", "FACTURA PRIMITA", "ERORI FACTURA", "MESAJ CUMPARATOR..."
    details: str
    created_at: datetime | None  # data_creare, Bucharest wall time, naive as ANAF sends it
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UploadRoute:
    """Where an e-Factura goes and with which query parameters (besides ``cif``)."""

    endpoint: str  # ENDPOINT_B2B | ENDPOINT_B2C
    standard: str  # STANDARD_INVOICE | STANDARD_CREDIT_NOTE
    extern: bool = False  # the buyer is not in Romania: ``extern=DA``

    def params(self, cif: str) -> dict[str, str]:
        params = {"standard": self.standard, "cif": _digits(cif)}
        if self.extern:
            params["extern"] = "DA"
        return params


def upload_route(*, buyer_kind: str, buyer_country: str, credit_note: bool) -> UploadRoute:
    """The one routing rule: a natural person goes to ``uploadb2c``, a company to ``upload``;
    a credit note is ``standard=CN``, an invoice ``UBL``; a buyer outside Romania (EU or not,
    company or person) adds ``extern=DA``, which ANAF asks for when the buyer has no Romanian
    fiscal code."""
    return UploadRoute(
        endpoint=ENDPOINT_B2C if buyer_kind == "individual" else ENDPOINT_B2B,
        standard=STANDARD_CREDIT_NOTE if credit_note else STANDARD_INVOICE,
        extern=(buyer_country or "RO").strip().upper() != "RO",
    )


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def parse_xml(body: bytes, what: str) -> Any:
    if not body.strip():
        raise AnafMalformed(f"{what}: empty answer where an XML document was expected")
    try:
        return etree.fromstring(body, parser=_PARSER)
    except etree.XMLSyntaxError as e:
        raise AnafMalformed(f"{what}: not XML ({e.msg}); starts with {body[:60]!r}") from None


def _errors_in(root: Any) -> list[str]:
    out = []
    for el in root.iter():
        if _local(el.tag) in {"Errors", "Error"}:
            msg = (el.get("errorMessage") or el.text or "").strip()
            if msg:
                out.append(msg)
    return out


def parse_upload_answer(body: bytes) -> UploadAnswer:
    root = parse_xml(body, "upload")
    if _local(root.tag) != "header":
        raise AnafMalformed(f"upload: root element is <{_local(root.tag)}>, expected <header>")
    status = root.get("ExecutionStatus")
    errors = _errors_in(root)
    if status == "0":
        index = (root.get("index_incarcare") or "").strip()
        if not index.isdigit():
            raise AnafMalformed(
                f"upload: ExecutionStatus=0 but index_incarcare is {index or 'missing'!r}"
            )
        return UploadAnswer(index, errors, root.get("dateResponse", ""))
    if status == "1":
        if not errors:
            raise AnafMalformed("upload: ExecutionStatus=1 without any <Errors errorMessage>")
        return UploadAnswer(None, errors, root.get("dateResponse", ""))
    raise AnafMalformed(f"upload: ExecutionStatus is {status!r}, expected '0' or '1'")


def parse_status_answer(body: bytes) -> StatusAnswer:
    root = parse_xml(body, "stareMesaj")
    if _local(root.tag) != "header":
        raise AnafMalformed(f"stareMesaj: root element is <{_local(root.tag)}>, expected <header>")
    errors = _errors_in(root)
    state = root.get("stare")
    if state is None:
        if errors:
            raise AnafRefused("stareMesaj", errors)
        raise AnafMalformed("stareMesaj: neither a 'stare' attribute nor <Errors>")
    state = state.strip()
    known = {STATE_OK, STATE_NOK, STATE_PROCESSING, STATE_XML_ERRORS}
    if state not in known:
        raise AnafMalformed(f"stareMesaj: unknown stare {state!r}")
    download_id = (root.get("id_descarcare") or "").strip() or None
    if state in {STATE_OK, STATE_NOK} and not (download_id and download_id.isdigit()):
        raise AnafMalformed(f"stareMesaj: stare={state!r} without a numeric id_descarcare")
    return StatusAnswer(state, download_id, errors)


def _json(resp: Response, what: str) -> dict[str, Any]:
    if resp.status == 204 or not resp.body.strip():
        raise AnafRateLimited(f"{what}: empty answer (HTTP {resp.status})", status=resp.status)
    try:
        data = json.loads(resp.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise AnafMalformed(f"{what}: not JSON ({e}); starts with {resp.body[:60]!r}") from None
    if not isinstance(data, dict):
        raise AnafMalformed(f"{what}: JSON {type(data).__name__}, expected an object")
    return data


def _created(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(str(value), "%Y%m%d%H%M")  # noqa: DTZ007 (ANAF sends local time)
    except ValueError:
        raise AnafMalformed(
            f"listaMesajeFactura: data_creare {value!r} is not YYYYMMDDHHMM"
        ) from None


def parse_message_list(resp: Response) -> list[Message]:
    data = _json(resp, "listaMesajeFactura")
    if "eroare" in data:
        err = str(data["eroare"])
        if _NO_MESSAGES.search(err):
            return []
        raise AnafRefused("listaMesajeFactura", [err])
    if resp.status >= 400:
        raise AnafMalformed(f"listaMesajeFactura: HTTP {resp.status} without 'eroare'")
    raw = data.get("mesaje")
    if not isinstance(raw, list):
        raise AnafMalformed("listaMesajeFactura: no 'mesaje' list and no 'eroare'")
    out = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict):
            raise AnafMalformed(f"listaMesajeFactura: mesaje[{i}] is not an object")
        missing = [k for k in ("id", "id_solicitare", "tip") if not str(m.get(k) or "").strip()]
        if missing:
            raise AnafMalformed(f"listaMesajeFactura: mesaje[{i}] lacks {', '.join(missing)}")
        out.append(
            Message(
                id=str(m["id"]).strip(),
                upload_index=str(m["id_solicitare"]).strip(),
                cif=str(m.get("cif") or "").strip(),
                kind=str(m["tip"]).strip(),
                details=str(m.get("detalii") or ""),
                created_at=_created(m.get("data_creare")),
                raw=m,
            )
        )
    return out


def check_zip(body: bytes, what: str) -> bytes:
    if not body.startswith(b"PK"):
        raise AnafMalformed(f"{what}: expected a ZIP archive, got {body[:60]!r}")
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            safezip.check_declared(z, ANAF_ZIP)  # sizes first: testzip inflates every member
            bad = z.testzip()
            names = z.namelist()
    except zipfile.BadZipFile as e:
        raise AnafMalformed(f"{what}: broken ZIP archive ({e})") from None
    except safezip.ArchiveRefused as e:
        raise AnafMalformed(f"{what}: {e}") from None
    if bad is not None:
        raise AnafMalformed(f"{what}: ZIP member {bad!r} is corrupt")
    if not names:
        raise AnafMalformed(f"{what}: empty ZIP archive")
    return body


# ANAF's ZIPs hold an invoice (at most 10 MB) and its signature: far below these.
ANAF_ZIP = safezip.Limits(max_member=50 * 1024 * 1024, max_total=100 * 1024 * 1024)


def zip_members(body: bytes) -> dict[str, bytes]:
    with safezip.open_zip(body, ANAF_ZIP) as z:
        return {n: z.read(n) for n in z.namelist()}


class SpvClient:
    def __init__(
        self,
        *,
        base_url: str,
        access_token: str,
        timeout: float = 30.0,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self._token = access_token
        self.timeout = timeout
        self.limiter = limiter

    def __repr__(self) -> str:  # never show the token
        return f"SpvClient({self.base_url!r})"

    def _call(self, method: str, path: str, params: dict[str, Any], **kw: Any) -> Response:
        url = self.base_url + path + "?" + urllib.parse.urlencode(params)
        headers = {"Authorization": f"Bearer {self._token}", **kw.pop("headers", {})}
        return request(
            method, url, headers=headers, timeout=self.timeout, limiter=self.limiter, **kw
        )

    def upload(
        self,
        xml: bytes,
        *,
        cif: str,
        standard: str = STANDARD_INVOICE,
        route: UploadRoute | None = None,
    ) -> UploadAnswer:
        """POST the XML to ``upload`` (or where ``route`` says: ``uploadb2c``, ``extern=DA``)."""
        route = route or UploadRoute(ENDPOINT_B2B, standard)
        if route.standard not in (STANDARD_INVOICE, STANDARD_CREDIT_NOTE):
            raise ValueError(f"standard must be UBL or CN, not {route.standard!r}")
        if route.endpoint not in (ENDPOINT_B2B, ENDPOINT_B2C):
            raise ValueError(f"endpoint must be upload or uploadb2c, not {route.endpoint!r}")
        resp = self._call(
            "POST",
            route.endpoint,
            route.params(cif),
            body=xml,
            headers={"Content-Type": "text/plain"},
        )
        if resp.status == 204 or not resp.body.strip():
            # An empty answer does not say whether ANAF registered the file: reconcile, never resend.
            raise AnafMalformed(f"upload: empty answer (HTTP {resp.status}); outcome unknown")
        return parse_upload_answer(resp.body)

    def status(self, upload_index: str) -> StatusAnswer:
        resp = self._call("GET", "stareMesaj", {"id_incarcare": upload_index})
        if resp.status == 204 or not resp.body.strip():
            raise AnafRateLimited(f"stareMesaj: empty answer (HTTP {resp.status})", status=204)
        return parse_status_answer(resp.body)

    def download(self, download_id: str) -> bytes:
        resp = self._call("GET", "descarcare", {"id": download_id})
        if resp.status == 204 or not resp.body.strip():
            raise AnafRateLimited(f"descarcare: empty answer (HTTP {resp.status})", status=204)
        if resp.body.lstrip().startswith(b"{"):
            data = _json(resp, "descarcare")
            if "eroare" in data:
                raise AnafRefused("descarcare", [str(data["eroare"])])
            raise AnafMalformed("descarcare: JSON answer without 'eroare' instead of a ZIP")
        return check_zip(resp.body, "descarcare")

    def messages(self, *, cif: str, days: int, filter: str | None = None) -> list[Message]:
        if not 1 <= days <= 60:
            raise ValueError("days must be 1..60 (ANAF keeps messages about 60 days)")
        params: dict[str, Any] = {"zile": days, "cif": _digits(cif)}
        if filter:
            if filter not in {"E", "T", "P", "R"}:
                raise ValueError(f"filter must be E, T, P or R, not {filter!r}")
            params["filtru"] = filter
        return parse_message_list(self._call("GET", "listaMesajeFactura", params))


def _digits(cif: str) -> str:
    d = cif.strip().upper().removeprefix("RO")
    if not d.isdigit():
        raise ValueError(f"cif {cif!r} is not a CUI")
    return d
