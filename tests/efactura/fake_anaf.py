"""A local stand-in for ANAF (OAuth, e-Factura REST, VAT-payer registry) answering as ANAF documents.

Runs http.server in a thread on 127.0.0.1 with a random port. Tests script it through its
attributes and read what it received (``hits``, ``uploads``, ``token_requests``).
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
import urllib.parse
import zipfile
from collections import Counter, defaultdict, deque
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

NS_UPLOAD = "mfp:anaf:dgti:spv:respUploadFisier:v1"
NS_STATUS = "mfp:anaf:dgti:efactura:stareMesajFactura:v1"
NS_ERRORS = "mfp:anaf:dgti:efactura:mesajEroriFactuta:v1"


def make_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


class FakeAnaf:
    def __init__(self) -> None:
        self.client_id = "client-abc"
        self.client_secret = "secret-xyz"  # noqa: S105
        self.codes: set[str] = set()
        self.access: set[str] = set()
        self.refresh: set[str] = set()
        self.expires_in = 90 * 86400
        self.token_requests: list[dict[str, Any]] = []
        self._n = 0
        self.next_index = 5006096656
        # index -> {xml, cif, standard, endpoint (upload | uploadb2c), params (the query), outcome}
        self.uploads: dict[str, dict[str, Any]] = {}
        # Scripted answers, consumed in order: path -> deque of (status, content_type, body) or callables.
        self.scripts: dict[str, deque[Any]] = defaultdict(deque)
        self.upload_outcome = "ok"  # what processing decides: ok | nok
        self.reject_first = 0  # this many next uploads end "nok" first, then upload_outcome applies
        self.timeout_sleep = 1.0  # how long a scripted "timeout" keeps the client waiting
        self.upload_delay = 0.0  # seconds before answering an upload (after registering it)
        self.processing_polls = 1  # stareMesaj answers "in prelucrare" this many times first
        self.status_polls: Counter[str] = Counter()
        self.hits: Counter[str] = Counter()
        self.registry: dict[str, dict[str, Any]] = {}
        self.registry_calls: list[tuple[float, list[dict[str, Any]]]] = []
        self.incoming: list[dict[str, Any]] = []
        self.messages_extra: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    # --- lifecycle -----------------------------------------------------------------------
    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeAnaf:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def settings(self, **extra: Any) -> dict[str, Any]:
        return {
            "LOGIN_URL_TEST": self.base + "/anaf-oauth2/v1",
            "LOGIN_URL_PROD": self.base + "/anaf-oauth2/v1",
            "API_URL_TEST": self.base + "/test/FCTEL/rest",
            "API_URL_PROD": self.base + "/prod/FCTEL/rest",
            "REGISTRY_URL": self.base + "/api/PlatitorTvaRest/v9/tva",
            "TIMEOUT": 0.4,
            "REGISTRY_MIN_INTERVAL": 0.0,
            "REDIRECT_URI": "http://testserver/efactura/callback/",
            **extra,
        }

    # --- helpers for tests ---------------------------------------------------------------
    def new_code(self) -> str:
        with self.lock:
            self._n += 1
            code = f"code-{self._n}"
            self.codes.add(code)
        return code

    def _tokens(self) -> dict[str, Any]:
        self._n += 1
        a, r = f"access-{self._n}", f"refresh-{self._n}"
        self.access.add(a)
        self.refresh.add(r)
        return {"access_token": a, "refresh_token": r, "expires_in": self.expires_in,
                "token_type": "Bearer", "scope": ""}  # fmt: skip

    def script(self, path: str, *answers: Any) -> None:
        """Next answers for ``path``: (status, content_type, body) tuples or ``"timeout"``."""
        self.scripts[path].extend(answers)

    def _next_outcome(self) -> str:
        """Called under ``lock`` for each upload ANAF takes for processing."""
        if self.reject_first > 0:
            self.reject_first -= 1
            return "nok"
        return self.upload_outcome

    def status_xml(self, index: str) -> bytes:
        up = self.uploads.get(index)
        if up is None:
            return (f'<header xmlns="{NS_STATUS}"><Errors errorMessage="Nu aveti dreptul de '
                    f'interogare pentru id_incarcare= {index}"/></header>').encode()  # fmt: skip
        self.status_polls[index] += 1
        if self.status_polls[index] <= self.processing_polls:
            return f'<header xmlns="{NS_STATUS}" stare="in prelucrare"/>'.encode()
        return f'<header xmlns="{NS_STATUS}" stare="{up["outcome"]}" id_descarcare="{up["download_id"]}"/>'.encode()

    def answer_zip(self, download_id: str) -> bytes | None:
        for index, up in self.uploads.items():
            if up["download_id"] == download_id:
                if up["outcome"] == "ok":
                    return make_zip(
                        {f"{index}.xml": up["xml"], f"semnatura_{index}.xml": b"<Signature/>"}
                    )
                errs = "".join(f'<Error errorMessage="{e}"/>' for e in up["errors"])
                body = f'<header xmlns="{NS_ERRORS}" Index_incarcare="{index}" Cif_emitent="{up["cif"]}">{errs}</header>'
                return make_zip(
                    {f"{index}.xml": body.encode(), f"semnatura_{index}.xml": b"<Signature/>"}
                )
        for m in self.incoming:
            if m["id"] == download_id:
                return make_zip(
                    {f"{m['id_solicitare']}.xml": b"<Invoice/>", "semnatura.xml": b"<S/>"}
                )
        return None

    def message_list(self, cif: str, filtru: str | None) -> list[dict[str, Any]]:
        now = datetime.now(ZoneInfo("Europe/Bucharest")).strftime("%Y%m%d%H%M")
        out = []
        for index, up in self.uploads.items():
            kind = "FACTURA TRIMISA" if up["outcome"] == "ok" else "ERORI FACTURA"
            code = "T" if up["outcome"] == "ok" else "E"
            if filtru and filtru != code:
                continue
            details = (f"Factura cu id_incarcare={index} emisa de cif_emitent={up['cif']} "
                       f"pentru cif_beneficiar={up['buyer']}") if code == "T" else \
                f"Erori de validare identificate la factura primita cu id_incarcare={index}"  # fmt: skip
            out.append({"data_creare": now, "cif": cif, "id_solicitare": index, "detalii": details,
                        "tip": kind, "id": up["download_id"]})  # fmt: skip
        if filtru in (None, "P"):
            out.extend(self.incoming)
        out.extend(self.messages_extra)
        return out

    # --- the HTTP handler ----------------------------------------------------------------
    def _handler(self):  # type: ignore[no-untyped-def]
        fake = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def _send(
                self, status: int, ctype: str, body: bytes, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    try:
                        self.wfile.write(body)
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # the client gave up waiting (timeout tests)

            def _json(self, status: int, data: Any) -> None:
                self._send(status, "application/json", json.dumps(data).encode())

            def _bearer_ok(self) -> bool:
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Bearer ") and auth[7:] in fake.access:
                    return True
                self._json(401, {"timestamp": "x", "status": 401, "error": "Unauthorized"})
                return False

            def _scripted(self, name: str) -> bool:
                with fake.lock:
                    q = fake.scripts.get(name)
                    item = q.popleft() if q else None
                if item is None:
                    return False
                if item == "timeout":
                    time.sleep(fake.timeout_sleep)
                    return True
                status, ctype, body = item[:3]
                self._send(status, ctype, body, item[3] if len(item) > 3 else None)
                return True

            def do_GET(self) -> None:  # noqa: N802
                url = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(url.query))
                name = url.path.rsplit("/", 1)[-1]
                fake.hits[name] += 1
                if self._scripted(name):
                    return
                if not self._bearer_ok():
                    return
                if name == "stareMesaj":
                    self._send(200, "application/xml", fake.status_xml(q.get("id_incarcare", "")))
                elif name == "descarcare":
                    z = fake.answer_zip(q.get("id", ""))
                    if z is None:
                        self._json(
                            200,
                            {
                                "eroare": f"Pentru id={q.get('id')} nu exista inregistrata nici o factura",
                                "titlu": "Descarcare mesaj",
                            },
                        )
                    else:
                        self._send(200, "application/zip", z)
                elif name == "listaMesajeFactura":
                    msgs = fake.message_list(q["cif"], q.get("filtru"))
                    if not msgs:
                        self._json(
                            200,
                            {
                                "eroare": f"Nu exista mesaje in ultimele {q['zile']} zile",
                                "titlu": "Lista Mesaje",
                            },
                        )
                    else:
                        self._json(
                            200,
                            {
                                "mesaje": msgs,
                                "serial": "1234AA456",
                                "cui": q["cif"],
                                "titlu": "Lista Mesaje disponibile",
                            },
                        )
                else:
                    self._send(404, "text/plain", b"not found")

            def do_POST(self) -> None:  # noqa: N802
                url = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(url.query))
                name = url.path.rsplit("/", 1)[-1]
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.hits[name] += 1
                if name == "token":
                    return self._token(body)
                if name == "tva":
                    return self._registry(body)
                if self._scripted(name):
                    return
                if not self._bearer_ok():
                    return
                if name in ("upload", "uploadb2c"):
                    self._upload(name, q, body)
                else:
                    self._send(404, "text/plain", b"not found")

            def _upload(self, endpoint: str, q: dict[str, str], body: bytes) -> None:
                # ANAF refuses an unknown standard at the door (OCA's upload_standard_invalid.xml).
                if q.get("standard") not in ("UBL", "CN", "CII", "RASP"):
                    msg = "Valorile acceptate pentru parametrul standard sunt UBL, CN, CII sau RASP"
                    self._send(
                        200,
                        "application/xml",
                        f'<header xmlns="{NS_UPLOAD}" dateResponse="202608051144" ExecutionStatus="1"><Errors errorMessage="{msg}"/></header>'.encode(),
                    )
                    return
                if not body.lstrip().startswith(b"<"):
                    msg = ("Fisierul transmis nu este valid. org.xml.sax.SAXParseException; lineNumber: 1; "
                           "columnNumber: 1; Content is not allowed in prolog.")  # fmt: skip
                    self._send(
                        200,
                        "application/xml",
                        f'<header xmlns="{NS_UPLOAD}" dateResponse="202608051144" ExecutionStatus="1"><Errors errorMessage="{msg}"/></header>'.encode(),
                    )
                    return
                with fake.lock:
                    index = str(fake.next_index)
                    fake.next_index += 1
                    import re

                    buyer = re.search(
                        rb"<cac:AccountingCustomerParty>.*?<cbc:CompanyID>(?:RO)?(\d+)<", body, re.S
                    )
                    fake.uploads[index] = {
                        "xml": body, "cif": q.get("cif"), "standard": q.get("standard"),
                        "endpoint": endpoint, "params": dict(q),
                        "outcome": fake._next_outcome(), "download_id": str(3001000000 + int(index) % 100000),
                        "buyer": buyer.group(1).decode() if buyer else "",
                        "errors": ["E: validari globale  eroare: [BR-RO-110]-Adresa vanzatorului trebuie sa contina strada",
                                   "E:  schematron eroare: [BR-CO-15]-Invoice total amount with VAT = total without VAT + VAT"],
                    }  # fmt: skip
                if fake.upload_delay:
                    time.sleep(fake.upload_delay)
                self._send(
                    200,
                    "application/xml",
                    f'<header xmlns="{NS_UPLOAD}" dateResponse="202608051140" ExecutionStatus="0" index_incarcare="{index}"/>'.encode(),
                )

            def _token(self, body: bytes) -> None:
                form = dict(urllib.parse.parse_qsl(body.decode()))
                auth = self.headers.get("Authorization", "")
                fake.token_requests.append({**form, "auth": auth})
                if self._scripted("token"):
                    return
                expected = (
                    "Basic "
                    + base64.b64encode(f"{fake.client_id}:{fake.client_secret}".encode()).decode()
                )
                if auth != expected:
                    return self._json(401, {"error": "invalid_client"})
                if form.get("token_content_type") != "jwt":
                    return self._json(
                        400, {"error": "invalid_request", "error_description": "token_content_type"}
                    )
                with fake.lock:
                    if form.get("grant_type") == "authorization_code":
                        if form.get("code") not in fake.codes:
                            return self._json(
                                400,
                                {
                                    "error": "invalid_grant",
                                    "error_description": "Invalid authorization code",
                                },
                            )
                        fake.codes.discard(form["code"])
                        return self._json(200, fake._tokens())
                    if form.get("grant_type") == "refresh_token":
                        if form.get("refresh_token") not in fake.refresh:
                            return self._json(
                                400,
                                {
                                    "error": "invalid_grant",
                                    "error_description": "Invalid refresh token",
                                },
                            )
                        fake.refresh.discard(form["refresh_token"])  # rotation: the old one dies
                        return self._json(200, fake._tokens())
                return self._json(400, {"error": "unsupported_grant_type"})

            def _registry(self, body: bytes) -> None:
                asked = json.loads(body)
                fake.registry_calls.append((time.monotonic(), asked))
                if self._scripted("tva"):
                    return
                if len(asked) > 100:
                    return self._json(
                        200, {"cod": 400, "message": "Numarul maxim de CUI-uri este 100"}
                    )
                found = [
                    fake.registry[str(a["cui"])] for a in asked if str(a["cui"]) in fake.registry
                ]
                missing = [a["cui"] for a in asked if str(a["cui"]) not in fake.registry]
                self._json(
                    200, {"cod": 200, "message": "SUCCESS", "found": found, "notFound": missing}
                )

        return H


def registry_item(cui: str, name: str, *, county: str = "CJ", locality: str = "Mun. Cluj-Napoca",
                  street: str = "Str. Memorandumului", number: str = "28", vat: bool = True,
                  on_collection: bool = False, inactive: bool = False, efactura: bool = True,
                  reg: str = "J12/1234/2015", postal: str = "400114") -> dict[str, Any]:  # fmt: skip
    """One ``found[]`` item as the v9 service returns it (the fields Recurent reads, and some it does not)."""
    return {
        "date_generale": {
            "cui": int(cui), "data": "2026-08-05", "denumire": name,
            "adresa": f"{locality}, {street}, Nr.{number}", "nrRegCom": reg, "telefon": "", "fax": "",
            "codPostal": postal, "act": "", "stare_inregistrare": "INREGISTRAT din data 01.04.2015",
            "data_inregistrare": "2015-04-01", "cod_CAEN": "6201", "iban": "", "statusRO_e_Factura": efactura,
            "organFiscalCompetent": "AJFP Cluj", "forma_de_proprietate": "", "forma_organizare": "",
            "forma_juridica": "",
        },
        "inregistrare_scop_Tva": {"scpTVA": vat, "perioade_TVA": []},
        "inregistrare_RTVAI": {"dataInceputTvaInc": "2024-01-01" if on_collection else "", "dataSfarsitTvaInc": "",
                               "dataActualizareTvaInc": "", "dataPublicareTvaInc": "", "tipActTvaInc": "",
                               "statusTvaIncasare": on_collection},
        "stare_inactiv": {"dataInactivare": "2026-03-01" if inactive else "", "dataReactivare": "",
                          "dataPublicare": "", "dataRadiere": "", "statusInactivi": inactive},
        "inregistrare_SplitTVA": {"dataInceputSplitTVA": "", "dataAnulareSplitTVA": "", "statusSplitTVA": False},
        "adresa_sediu_social": {
            "sdenumire_Strada": street, "snumar_Strada": number, "sdenumire_Localitate": locality,
            "scod_Localitate": "54", "sdenumire_Judet": "CLUJ", "scod_Judet": "12", "scod_JudetAuto": county,
            "stara": "", "sdetalii_Adresa": "", "scod_Postal": postal,
        },
        "adresa_domiciliu_fiscal": {},
    }  # fmt: skip
