"""The REST API (django-ninja): routers, problem+json errors, idempotent POSTs, OpenAPI 3.1."""

from __future__ import annotations

import json
import logging
import mimetypes
from pathlib import Path
from typing import Any

import ninja
from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.docs import DocsBase

from .auth import TokenAuth
from .idempotency import HEADER, MAX_KEY_LENGTH, idempotent
from .problems import PROBLEM_CONTENT_TYPE, Problem, from_django, problem_response
from .routes import (
    accounting,
    billing,
    catalog,
    clients,
    contracts,
    discounts,
    efactura,
    interest_settings,
    invoices,
    payments,
    proration,
    review,
    usage,
    webhooks,
)
from .schemas import ProblemOut

log = logging.getLogger("recurent.api")

ASSETS_DIR = Path(ninja.__file__).parent / "static" / "ninja"
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-init.js", "favicon.png"})

DESCRIPTION = """Drive and follow the billing of one company from another system.

Authenticate with `Authorization: Bearer rct_…` (an API token created in the web app or with
`recurent api_token create`). A token acts as its user in its company, with the user's role:
a viewer reads; an accountant or an administrator also writes. Errors are RFC 9457 problem
details with a stable `code`. Send an `Idempotency-Key` with every POST to retry safely.
See docs/api.md for webhooks and their signatures."""


class LocalSwagger(DocsBase):
    """Swagger UI from the assets installed with django-ninja, served by this application."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        base = request.path.rsplit("/docs", 1)[0]
        settings = {"url": f"{base}/openapi.json", "layout": "BaseLayout", "deepLinking": True}
        return render(
            request,
            "api/docs.html",
            {
                "api": api,
                "assets": f"{base}/docs/assets/",
                "swagger_settings": json.dumps(settings),
            },
        )


def docs_asset(request: HttpRequest, name: str) -> FileResponse:
    if name not in ASSETS:
        raise Http404(name)
    response = FileResponse(
        (ASSETS_DIR / name).open("rb"), content_type=mimetypes.guess_type(name)[0]
    )
    response["Cache-Control"] = "public, max-age=86400"
    return response


def _problem_ref() -> dict[str, Any]:
    return {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemOut"}}}


_DESCRIPTIONS = {
    400: "The body is not valid JSON",
    401: "No valid API token",
    403: "The token's role does not allow this",
    404: "Not found in the token's company",
    409: "Conflicts with the current state, or an Idempotency-Key reused with another body",
    413: "The request body is over the size limit",
    422: "Invalid input: one entry per field in `errors`",
    501: "Not available in this version yet",
}


class RecurentAPI(NinjaAPI):
    def get_openapi_schema(self, **kw: Any) -> Any:
        schema = super().get_openapi_schema(**kw)
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["ProblemOut"] = ProblemOut.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        schemas.update(schemas["ProblemOut"].pop("$defs", {}))
        for path, item in schema["paths"].items():
            for method, op in item.items():
                codes = {401, 403, 422}
                if "{" in path:
                    codes.add(404)
                if method in {"post", "patch", "put"}:
                    codes |= {400, 409, 413}
                if path.endswith("/storno"):
                    codes.add(501)
                responses = op.setdefault("responses", {})
                for code in sorted(codes):
                    responses[str(code)] = {
                        "description": _DESCRIPTIONS[code],
                        "content": _problem_ref(),
                    }
                if method == "post":
                    op.setdefault("parameters", []).append(
                        {
                            "in": "header",
                            "name": HEADER,
                            "required": False,
                            "description": "Retry safely: the same key and body answer the "
                            "first result again; another body with it is a 409.",
                            "schema": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": MAX_KEY_LENGTH,
                            },
                        }
                    )
        return schema


api = RecurentAPI(
    title="Recurent API",
    version="1.0.0",
    description=DESCRIPTION,
    auth=TokenAuth(),
    urls_namespace="api:v1",
    openapi_url="/openapi.json",
    docs=LocalSwagger(),
    docs_url="/docs",
)

for module in (
    catalog, clients, contracts, discounts, invoices, efactura, payments, billing, webhooks,
    accounting, usage, review, proration, interest_settings,
):  # fmt: skip
    api.add_router("", module.router)


# --- errors as problem+json ----------------------------------------------------------------


def _loc(loc: Any) -> str:
    parts = [str(p) for p in loc]
    # ninja prefixes the source ("body", "query", "path") and the parameter name of the body.
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
        if parts and parts[0] == "body":
            parts = parts[1:]
    return ".".join(parts)


@api.exception_handler(Problem)
def _problem(request: HttpRequest, exc: Problem) -> HttpResponse:
    return problem_response(exc.status, exc.code, exc.detail, exc.errors)


@api.exception_handler(DjangoValidationError)
def _django_validation(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    p = from_django(
        exc, rename={"client": "client_id", "series": "series_id", "issuer": "issuer_id"}
    )
    return problem_response(p.status, p.code, p.detail, p.errors)


@api.exception_handler(NinjaValidationError)
def _request_validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [
        {
            "field": _loc(e.get("loc", ())),
            "code": str(e.get("type", "invalid")),
            "message": str(e.get("msg", "")),
        }
        for e in exc.errors
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid input"
    return problem_response(422, "validation_error", detail, errors)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = problem_response(
        401, "unauthenticated", "send Authorization: Bearer <API token> (a live, unrevoked token)"
    )
    response["WWW-Authenticate"] = 'Bearer realm="recurent"'
    return response


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return problem_response(403, "forbidden", str(exc) or "your role does not allow this")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(404, "not_found", "not found")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return problem_response(
        exc.status_code, "bad_request" if exc.status_code == 400 else "error", str(exc)
    )


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    # Django refuses to read a body over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB by default).
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return problem_response(
        413, "payload_too_large", f"the request body is over the limit of {limit} bytes"
    )


@api.exception_handler(IntegrityError)
def _integrity(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
    # A unique constraint the services leave to the database (e.g. a contract number already
    # used in the company): the caller can fix it, so it is a 409, not a 500.
    return problem_response(409, "conflict", "conflicts with an existing record (a duplicate?)")


@api.exception_handler(DataError)
def _data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
    return problem_response(422, "validation_error", "a value is out of range for its field")


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("API error on %s %s", request.method, request.path)
    return problem_response(500, "server_error", "internal error; it was logged")


# Every POST accepts an Idempotency-Key: wrap each operation's whole run (auth included).
def _wrap_posts() -> None:
    for bound in api._get_bound_routers():
        for path_view in bound.path_operations.values():
            for op in path_view.operations:
                if "POST" in op.methods and not getattr(op.run, "_idempotent", False):
                    op.run = idempotent(op.run)  # type: ignore[method-assign]


_wrap_posts()
