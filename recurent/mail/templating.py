"""Email templates: a Jinja2 sandbox over a plain dict of documented fields.

Two locks, either sufficient on its own:
1. ``validate`` (on every save) walks the template's syntax tree and accepts only the
   documented ``object.field`` names, a short list of harmless filters and tests, and
   no function calls, imports, macros or arithmetic that could blow up (``*``, ``**``);
2. rendering runs in ``SandboxedEnvironment`` with no globals, ``StrictUndefined``, and a
   context that holds nothing but strings (no ORM object reachable from it).
So ``{{ ''.__class__ }}`` or ``{{ cycler.__init__.__globals__ }}`` is refused when the
template is saved, with a message naming the field and line.

And a budget while rendering (issue 14): ``{% set a = a ~ a %}`` written 27 times builds a
3 GB string with nothing the check above refuses, and wrapped in ``{% if client.name == ... %}``
it passes the save check (the sample client does not match) and explodes in the sender. So
every value a render builds (``~``, ``+``, every filter's result) is measured as it is built
and may not exceed ``MAX_VALUE`` characters, ``replace`` is checked before it runs, and a
render has ``RENDER_SECONDS`` in all: the render stops with ``TemplateBudgetError`` (refused
at save, one failed message in the sender) before the process runs out of memory.
"""

from __future__ import annotations

import contextvars
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy
from jinja2 import StrictUndefined, Template, TemplateSyntaxError, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

if TYPE_CHECKING:
    from recurent.invoices.models import Invoice

    from .models import EmailTemplate

# The documented fields (docs/mail.md lists them with examples). Every value is a string.
FIELDS: dict[str, tuple[str, ...]] = {
    "client": ("name", "tax_id", "email", "street", "city", "country"),
    "invoice": (
        "full_number",
        "series",
        "number",
        "issue_date",
        "due_date",
        "total",
        "amount",
        "currency",
        "net_total",
        "vat_total",
        "period_start",
        "period_end",
        "period",
    ),  # fmt: skip
    "company": ("name", "cui", "email", "phone", "iban", "bank", "street", "city"),
    "contract": ("number", "date"),
    "reminder": ("offset_days", "days_overdue", "days_until_due"),
}
LEAVES = ("portal_url", "pay_url")
FILTERS = frozenset(
    {
        "capitalize", "default", "d", "escape", "e", "first", "last", "length", "lower",
        "upper", "title", "trim", "truncate", "replace", "striptags", "wordcount", "string",
    }
)  # fmt: skip
TESTS = frozenset({"defined", "undefined", "none", "string", "eq", "ne", "in"})
ALLOWED_NODES = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Const, nodes.Name, nodes.Getattr,
    nodes.Getitem, nodes.Filter, nodes.Test, nodes.If, nodes.Compare, nodes.Operand, nodes.And,
    nodes.Or, nodes.Not, nodes.CondExpr, nodes.Concat, nodes.Add, nodes.Assign, nodes.Keyword,
)  # fmt: skip
MAX_OUTPUT = 200_000  # characters, per rendered part
# The budget of one render: no value built on the way may be longer than MAX_VALUE characters
# (an email body is a few thousand), and the whole render has RENDER_SECONDS.
MAX_VALUE = MAX_OUTPUT
RENDER_SECONDS = 2.0

# The deadline of the render running in this thread (None: not rendering, e.g. compiling).
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "recurent_mail_render_deadline", default=None
)


class TemplateBudgetError(SecurityError):
    """A render went over its size or time budget (a SecurityError: refused like one)."""


def _spend(value: Any) -> Any:
    """``value`` if it is within the budget, else TemplateBudgetError; also checks the time."""
    if isinstance(value, str) and len(value) > MAX_VALUE:
        raise TemplateBudgetError(
            gettext(
                "the template builds a text longer than %(n)s characters "
                "(for example by joining a value with itself again and again)"
            )
            % {"n": MAX_VALUE}
        )
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise TemplateBudgetError(
            gettext("rendering the template took longer than %(s)s seconds") % {"s": RENDER_SECONDS}
        )
    return value


class _BoundedCodeGenerator(CodeGenerator):
    # ``~`` compiles to a plain join that the sandbox does not intercept: measure its result.
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.spend(")
        super().visit_Concat(node, frame)
        self.write(")")


class _BoundedSandbox(SandboxedEnvironment):
    code_generator_class = _BoundedCodeGenerator
    # Every arithmetic operator goes through call_binop (the save check allows only ``+``).
    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def spend(self, value: Any) -> Any:
        return _spend(value)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*" and isinstance(left, int | str) and isinstance(right, int | str):
            # 'x' * 10**9 is refused before it is built.
            if isinstance(left, str) and isinstance(right, int):
                _spend("" if len(left) * right <= MAX_VALUE else " " * (MAX_VALUE + 1))
            if isinstance(right, str) and isinstance(left, int):
                _spend("" if len(right) * left <= MAX_VALUE else " " * (MAX_VALUE + 1))
        if operator == "**":
            raise TemplateBudgetError(str(REFUSED["Pow"]))
        return _spend(super().call_binop(context, operator, left, right))


def _bounded_filter(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)  # keeps jinja_pass_arg (eval context / environment first)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        return _spend(fn(*args, **kwargs))

    return bounded


def _bounded_replace(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: int | None = None) -> Any:
        # Measured before it runs: replace("", 1000 characters) multiplies a text by 1000.
        text, old_s, new_s = str(s), str(old), str(new)
        hits = text.count(old_s) if old_s else len(text) + 1
        if count is not None:
            hits = min(hits, max(count, 0))
        if len(text) + hits * (len(new_s) - len(old_s)) > MAX_VALUE:
            _spend(" " * (MAX_VALUE + 1))
        return _spend(fn(eval_ctx, s, old, new, count))

    return replace


def fields_help() -> list[str]:
    return [f"{o}.{f}" for o, fs in FIELDS.items() for f in fs] + list(LEAVES)


def _env(html: bool) -> SandboxedEnvironment:
    env = _BoundedSandbox(
        undefined=StrictUndefined, autoescape=html, trim_blocks=True, lstrip_blocks=True
    )
    env.globals.clear()  # no range, cycler, joiner, lipsum, dict, namespace
    env.filters = {
        k: (_bounded_replace(v) if k == "replace" else _bounded_filter(v))
        for k, v in env.filters.items()
        if k in FILTERS
    }
    env.tests = {k: v for k, v in env.tests.items() if k in TESTS}
    return env


ENV_TEXT = _env(html=False)
ENV_HTML = _env(html=True)


# What the check refuses, per node type: whole sentences, so that each translates naturally.
# Translated when raised: in a request, in the user's language (the template form shows them).
REFUSED = {
    "Call": gettext_lazy("calling functions is not allowed in email templates"),
    "Macro": gettext_lazy("macros are not allowed in email templates"),
    "CallBlock": gettext_lazy("call blocks are not allowed in email templates"),
    "Import": gettext_lazy("imports are not allowed in email templates"),
    "FromImport": gettext_lazy("imports are not allowed in email templates"),
    "Include": gettext_lazy("includes are not allowed in email templates"),
    "Extends": gettext_lazy("extends are not allowed in email templates"),
    "Mul": gettext_lazy("multiplication is not allowed in email templates"),
    "Pow": gettext_lazy("powers are not allowed in email templates"),
    "For": gettext_lazy("loops are not allowed in email templates"),
}


def _line(lineno: int | None, message: str) -> str:
    return gettext("line %(line)s: %(message)s") % {"line": lineno, "message": message}


class _Refused(Exception):
    def __init__(self, lineno: int | None, message: str) -> None:
        super().__init__(message)
        self.lineno = lineno
        self.message = message


def _describe(node: nodes.Node) -> str:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_describe(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return f"{_describe(node.node)}[{node.arg.value!r}]"
    if isinstance(node, nodes.Const):
        return repr(node.value)
    return type(node).__name__.lower()


def _check_node(node: nodes.Node, local_names: set[str], kind: str) -> None:
    line = getattr(node, "lineno", None)
    if not isinstance(node, ALLOWED_NODES):
        name = type(node).__name__
        refused = REFUSED.get(name)
        raise _Refused(
            line,
            str(refused)
            if refused
            else gettext("'%(kind)s' expressions are not allowed in email templates")
            % {"kind": name},
        )
    available = ", ".join(fields_help())
    if isinstance(node, nodes.Getattr | nodes.Getitem):
        base = node.node
        attr = node.attr if isinstance(node, nodes.Getattr) else None
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            attr = node.arg.value if isinstance(node.arg.value, str) else None
        allowed = FIELDS.get(base.name, ()) if isinstance(base, nodes.Name) else ()
        if isinstance(base, nodes.Name) and base.name == "reminder" and kind != "reminder":
            allowed = ()
        if attr is None or attr not in allowed:
            raise _Refused(
                line,
                gettext("'%(name)s' is not a field you can use; available: %(available)s")
                % {"name": _describe(node), "available": available},
            )
        return  # base is a documented Name, nothing further to check below it
    if isinstance(node, nodes.Name) and node.ctx == "load":
        known = set(LEAVES) | local_names
        if node.name in FIELDS:
            raise _Refused(
                line,
                gettext("'%(name)s' alone is not a field: use e.g. %(name)s.name")
                % {"name": node.name},
            )
        if node.name not in known:
            raise _Refused(
                line,
                gettext("unknown variable '%(name)s'; available: %(available)s")
                % {"name": node.name, "available": available},
            )
    if isinstance(node, nodes.Assign):
        if not isinstance(node.target, nodes.Name):
            raise _Refused(
                line, gettext("only simple %(tag)s is allowed") % {"tag": "{% set name = ... %}"}
            )
        local_names.add(node.target.name)
        _check_node(node.node, local_names, kind)
        return
    if isinstance(node, nodes.Filter):
        if node.name not in FILTERS:
            raise _Refused(
                line,
                gettext("filter '%(name)s' is not allowed; allowed: %(allowed)s")
                % {"name": node.name, "allowed": ", ".join(sorted(FILTERS))},
            )
        for arg in list(node.args) + [k.value for k in node.kwargs]:
            if not isinstance(arg, nodes.Const):
                raise _Refused(
                    line,
                    gettext("filter '%(name)s' takes only literal arguments") % {"name": node.name},
                )
    if isinstance(node, nodes.Test) and node.name not in TESTS:
        raise _Refused(line, gettext("test '%(name)s' is not allowed") % {"name": node.name})
    for child in node.iter_child_nodes():
        _check_node(child, local_names, kind)


def check_source(source: str, *, field: str, kind: str, html: bool) -> None:
    """Raise ValidationError({field: [...]}) if the source is not a safe, valid template."""
    env = ENV_HTML if html else ENV_TEXT
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as e:
        # Jinja's own description of the mistake stays in English.
        raise ValidationError({field: [_line(e.lineno, e.message or "")]}) from None
    try:
        _check_node(tree, set(), kind)
    except _Refused as e:
        raise ValidationError(
            {field: [_line(e.lineno, e.message) if e.lineno else e.message]}
        ) from None
    # Render against sample data: catches what only shows at run time (a filter misused).
    try:
        _render(env, source, sample_context(kind))
    except (UndefinedError, SecurityError, TypeError, ValueError) as e:
        raise ValidationError(
            {field: [gettext("cannot be rendered: %(error)s") % {"error": e}]}
        ) from None


def validate_template(t: EmailTemplate) -> None:
    errors: dict[str, list[str]] = {}
    for field, html in (("subject", False), ("body_html", True), ("body_text", False)):
        try:
            check_source(getattr(t, field) or "", field=field, kind=t.kind, html=html)
        except ValidationError as e:
            errors.update(e.message_dict)
    if "\n" in (t.subject or "") or "\r" in (t.subject or ""):
        errors.setdefault("subject", []).append(gettext("the subject must be one line"))
    if errors:
        raise ValidationError(errors)


@functools.lru_cache(maxsize=512)
def _compiled(html: bool, source: str) -> Template:
    # Compiling costs milliseconds; the same few templates render thousands of times.
    return (ENV_HTML if html else ENV_TEXT).from_string(source)


def _render(env: SandboxedEnvironment, source: str, context: dict[str, Any]) -> str:
    template = _compiled(env is ENV_HTML, source)
    token = _deadline.set(time.monotonic() + RENDER_SECONDS)
    try:
        out = template.render(context)
    finally:
        _deadline.reset(token)
    if len(out) > MAX_OUTPUT:
        raise ValueError(gettext("renders to more than %(n)s characters") % {"n": MAX_OUTPUT})
    return out


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


class RenderError(Exception):
    pass


def render(*, subject: str, body_html: str, body_text: str, context: dict[str, Any]) -> Rendered:
    try:
        subj = _render(ENV_TEXT, subject, context)
        return Rendered(
            subject=" ".join(subj.split()),  # one line: no header injection
            html=_render(ENV_HTML, body_html, context),
            text=_render(ENV_TEXT, body_text, context),
        )
    except Exception as e:  # a template that passed validation should not get here
        raise RenderError(
            gettext("the template cannot be rendered: %(error)s") % {"error": e}
        ) from e


# ---- the context: plain strings built from the invoice -------------------------------


def _amount(value: Decimal | None, lang: str) -> str:
    if value is None:
        return ""
    s = f"{value:,.2f}"  # 1,234.56
    if lang == "ro":
        s = s.replace(",", " ").replace(".", ",").replace(" ", ".")  # 1.234,56
    return s


MONTHS_EN = (
    "January February March April May June July August September October November December".split()
)


def _date(d: date | None, lang: str) -> str:
    if d is None:
        return ""
    if lang == "ro":
        return d.strftime("%d.%m.%Y")
    return f"{d.day} {MONTHS_EN[d.month - 1]} {d.year}"


# Who gives an invoice's online pay link ({{ pay_url }}), "" when it cannot be paid online: the
# online-payments app, filled in by recurent/wiring.py so that mail stays below it.
PAY_LINKS: list[Callable[[Invoice], str]] = []


def _pay_url(invoice: Invoice) -> str:
    return next((u for u in (fn(invoice) for fn in PAY_LINKS) if u), "")


def invoice_context(
    invoice: Invoice,
    *,
    lang: str,
    portal_url: str,
    reminder_offset: int | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """The documented fields of an invoice, as strings (the client as on the invoice)."""
    buyer, seller = invoice.buyer or {}, invoice.seller or {}
    emails = buyer.get("emails") or []
    period = ""
    if invoice.period_start and invoice.period_end:
        period = f"{_date(invoice.period_start, lang)} – {_date(invoice.period_end, lang)}"
    ctx: dict[str, Any] = {
        "client": {
            "name": buyer.get("name", invoice.buyer_name), "tax_id": buyer.get("tax_id", ""),
            "email": emails[0] if emails else "", "street": buyer.get("street", ""),
            "city": buyer.get("city", ""), "country": buyer.get("country", ""),
        },
        "invoice": {
            "full_number": invoice.full_number, "series": invoice.series.code if invoice.series_id else "",
            "number": str(invoice.number), "issue_date": _date(invoice.issue_date, lang),
            "due_date": _date(invoice.due_date, lang),
            "total": f"{_amount(invoice.gross_total, lang)} {invoice.currency}",
            "amount": _amount(invoice.gross_total, lang), "currency": invoice.currency,
            "net_total": _amount(invoice.net_total, lang), "vat_total": _amount(invoice.vat_total, lang),
            "period_start": _date(invoice.period_start, lang), "period_end": _date(invoice.period_end, lang),
            "period": period,
        },
        "company": {
            "name": seller.get("name", ""), "cui": seller.get("cui", ""), "email": seller.get("email", ""),
            "phone": seller.get("phone", ""), "iban": seller.get("iban", ""), "bank": seller.get("bank", ""),
            "street": seller.get("street", ""), "city": seller.get("city", ""),
        },
        "contract": {
            "number": invoice.contract_number or "", "date": _date(invoice.contract_date, lang),
        },
        "portal_url": portal_url,
        "pay_url": _pay_url(invoice),
    }  # fmt: skip
    if reminder_offset is not None:
        days = (today - invoice.due_date).days if today else reminder_offset
        ctx["reminder"] = {
            "offset_days": str(reminder_offset),
            "days_overdue": str(max(days, 0)),
            "days_until_due": str(max(-days, 0)),
        }
    return ctx


def sample_context(kind: str) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        obj: {f: f"{obj}.{f}" for f in fs} for obj, fs in FIELDS.items() if obj != "reminder"
    }
    ctx["portal_url"] = "https://example.invalid/portal/x/"
    ctx["pay_url"] = "https://example.invalid/gateways/pay/x/"
    if kind == "reminder":
        ctx["reminder"] = {f: "1" for f in FIELDS["reminder"]}
    return ctx
