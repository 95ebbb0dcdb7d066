"""The SMTP sender: delivers queued outbox rows, each at most once.

Per message:
1. build it (template, recipients, attachments) — no network, no state change;
2. claim it: ``UPDATE ... SET state='sending' WHERE state='pending'``, committed on its own,
   before MAIL FROM/DATA (the compare-and-set also keeps two senders off the same row);
3. MAIL FROM, RCPT TO, DATA over one reused connection per company;
4. record the outcome: SENT with the server's answer, or a retry with exponential backoff
   (4xx, connection refused/dropped), or FAILED at once (5xx, no valid address).

A sender killed during step 3/4 leaves the row in SENDING. ``reconcile`` finds such rows
(their owner process is gone, or the lease ran out) and, by default, marks them UNKNOWN
instead of sending again: between the server's "250 queued" and our UPDATE nothing can
tell whether the message went, and re-sending would break "at most once". Setting
``RECURENT_MAIL_ON_UNCERTAIN=resend`` chooses at-least-once instead (at most one
duplicate per killed sender, with the same Message-ID). See docs/mail.md.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import smtplib
import socket
import ssl
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from recurent.clients.portal_links import portal_url
from recurent.common import clock, hosts
from recurent.documents.api import attachments as invoice_attachments
from recurent.engine.cycles import BUCHAREST

from . import crypto, mime, templating
from .models import OutboxKind, OutboxMessage, OutboxState, Security, SmtpSettings
from .notice_files import notice_attachments
from .prefetch import Prefetched
from .selectors import is_outstanding
from .services import client_language, template_for

log = logging.getLogger("recurent.mail")


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


# Knobs (Django settings; documented in docs/mail.md). Read at call time so tests can change them.
def max_attempts() -> int:
    return int(_setting("RECURENT_MAIL_MAX_ATTEMPTS", 8))


def retry_base_seconds() -> int:
    return int(_setting("RECURENT_MAIL_RETRY_BASE_SECONDS", 60))


RETRY_MAX_SECONDS = 6 * 3600
# A message waits this long after issue for its PDF/XML, then goes without them.
ATTACHMENT_WAIT_SECONDS = _setting("RECURENT_MAIL_ATTACHMENT_WAIT_SECONDS", 600)
# A SENDING row older than this is abandoned even if its owner cannot be checked (other host).
LEASE_SECONDS = _setting("RECURENT_MAIL_LEASE_SECONDS", 900)
NO_SETTINGS_RECHECK_SECONDS = 900
# Messages whose attachments and portal links are read together: a few queries per run
# instead of three per message, and at most this many messages' PDFs in memory at once.
PREFETCH = 50


def on_uncertain() -> str:
    v = os.environ.get("RECURENT_MAIL_ON_UNCERTAIN") or _setting(
        "RECURENT_MAIL_ON_UNCERTAIN", "hold"
    )
    return "resend" if v == "resend" else "hold"


HOST = socket.gethostname()


def owner() -> str:
    return f"{HOST}:{os.getpid()}"


def backoff(attempts: int) -> timedelta:
    """Delay after the n-th failed attempt: base, 2×base, 4×base … capped at 6 hours."""
    return timedelta(
        seconds=min(retry_base_seconds() * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS)
    )


# ---- building a message ---------------------------------------------------------------


class Permanent(Exception):
    """This message can never be sent as it is (no address, 5xx): stop at once."""


class Temporary(Exception):
    """Try again later (4xx, connection refused or dropped)."""


def message_id_for(m: OutboxMessage, domain: str) -> str:
    # Derived from the row, keyed by the installation's secret: stable across retries,
    # unique across installations that share a domain.
    tag = hmac.new(
        (settings.SECRET_KEY or "recurent").encode(), f"outbox:{m.pk}".encode(), hashlib.sha256
    ).hexdigest()[:12]
    return f"<recurent.{m.pk}.{tag}@{domain}>"


def _one_line(s: str) -> str:
    return " ".join((s or "").split())


@dataclass
class Prepared:
    message: OutboxMessage
    data: bytes
    sender: str
    to: list[str]
    envelope: list[str]  # to + bcc
    subject: str
    message_id: str
    attachment_names: list[str]
    note: str


def _valid(addresses: list[str]) -> tuple[list[str], list[str]]:
    """The valid addresses, and a note for each one skipped."""
    to, notes = [], []
    for addr in addresses:
        try:
            validate_email(addr)
            to.append(addr)
        except ValidationError:
            notes.append(f"skipped invalid address {addr!r}")
    return to, notes


def _headers(
    m: OutboxMessage, cfg: SmtpSettings, to: list[str], subject: str
) -> tuple[list[tuple[str, str]], str]:
    """The headers every outbox message has, in order; and its Message-ID."""
    domain = cfg.from_email.rpartition("@")[2] or "localhost"
    mid = m.message_id or message_id_for(m, domain)
    display = _one_line(cfg.from_name or m.company.legal_name)
    headers = [
        ("From", mime.address(display, mime.ascii_address(cfg.from_email))),
        ("To", ", ".join(mime.ascii_address(a) for a in to)),
    ]
    reply_to = cfg.reply_to or m.company.email
    if reply_to:
        headers.append(("Reply-To", mime.ascii_address(reply_to)))
    headers += [("Subject", subject), ("Date", format_datetime(clock.now())), ("Message-ID", mid)]
    return headers, mid


def _prepare_notice(m: OutboxMessage, cfg: SmtpSettings) -> Prepared:
    """A notice as queued: its own subject, bodies and recipients; nothing to wait for.

    No blind copy to the company: the notices other apps queue are either addressed to the
    company already or paired with one that is (the portal's confirmation and notice).
    """
    to, notes = _valid(list(m.recipients or []))
    if not to:
        raise Permanent("no valid recipient address" + (f" ({'; '.join(notes)})" if notes else ""))
    subject = _one_line(m.subject)
    headers, mid = _headers(m, cfg, to, subject)
    headers.append(("Auto-Submitted", "auto-generated"))
    atts = notice_attachments(m)  # a proforma's PDF; nothing for other notices
    data = mime.build(headers=headers, text=m.body_text, html=m.body_html, attachments=atts)
    return Prepared(
        message=m, data=data, sender=cfg.from_email, to=to, envelope=list(to), subject=subject,
        message_id=mid, attachment_names=[a[0] for a in atts], note="; ".join(notes),
    )  # fmt: skip


def _prepare(
    m: OutboxMessage,
    cfg: SmtpSettings,
    now: datetime,
    _templates: dict[Any, Any] | None = None,
    prefetched: Prefetched | None = None,
) -> Prepared | None:
    """The bytes to send, or None when the message waits (attachments) or is withdrawn."""
    if m.kind == OutboxKind.NOTICE:
        return _prepare_notice(m, cfg)
    inv = m.invoice
    assert inv is not None  # the constraint mail_invoice_unless_notice
    if m.kind == OutboxKind.REMINDER and not is_outstanding(inv):
        OutboxMessage.objects.filter(pk=m.pk, state=OutboxState.PENDING).update(
            state=OutboxState.CANCELLED,
            last_response="not sent: the invoice was paid or cancelled before the reminder",
        )
        return None
    known = prefetched.attachments.get(inv.pk) if prefetched else None
    atts = known if known is not None else invoice_attachments(inv.pk)
    portal = (prefetched.portal.get(inv.client_id) if prefetched else None) or portal_url(
        inv.client_id
    )
    went_without = False
    if not atts and m.kind == OutboxKind.INVOICE and not m.manual:
        wait_until = m.queued_at + timedelta(seconds=ATTACHMENT_WAIT_SECONDS)
        if now < wait_until:
            OutboxMessage.objects.filter(pk=m.pk, state=OutboxState.PENDING).update(
                not_before=min(wait_until, now + timedelta(seconds=60)),
                last_response="waiting for the invoice PDF/XML to be rendered",
            )
            return None
        went_without = True
    if _templates is None:
        _templates = {}
    to, notes = _valid(list(inv.client.emails or []))
    if not to:
        raise Permanent(
            "the client has no valid email address" + (f" ({'; '.join(notes)})" if notes else "")
        )
    lang = client_language(inv.client)
    kind = "reminder" if m.kind == OutboxKind.REMINDER else "invoice"
    code = m.template_code or (
        inv.contract.email_template_code if inv.contract and kind == "invoice" else ""
    )
    key = (m.company_id, code, kind, lang)
    if key not in _templates:
        _templates[key] = template_for(company=m.company, code=code, kind=kind, language=lang)
    tpl, note = _templates[key]
    if note:
        notes.append(note)
    today = now.astimezone(BUCHAREST).date()
    ctx = templating.invoice_context(
        inv,
        lang=tpl.language,
        portal_url=portal,
        reminder_offset=m.reminder_rule.offset_days if m.reminder_rule else (today - inv.due_date).days
        if kind == "reminder" else None,
        today=today,
    )  # fmt: skip
    try:
        r = templating.render(
            subject=tpl.subject, body_html=tpl.body_html, body_text=tpl.body_text, context=ctx
        )
    except templating.RenderError as e:
        raise Permanent(f"template {tpl.code}: {e}") from None
    text, html = r.text, r.html
    if went_without:
        # Waited ATTACHMENT_WAIT_SECONDS for the documents: the email goes, and says why they
        # are missing and where to find them; the outbox row says it too.
        minutes = ATTACHMENT_WAIT_SECONDS // 60
        notes.append(f"sent without the PDF/XML: not rendered {minutes} minutes after issue")
        with translation.override(tpl.language):
            why = gettext(
                "The PDF and the e-Factura XML of this invoice are not attached: they were not "
                "ready when this email was sent. You can download them from your client "
                "portal: %(url)s"
            ) % {"url": portal}
        text = f"{text}\n\n{why}\n"
        html = f"{html}<p>{escape(why)}</p>"
    headers, mid = _headers(m, cfg, to, r.subject)
    headers.append(("X-Recurent-Invoice", inv.full_number))
    if m.kind == OutboxKind.REMINDER:
        headers.append(("Auto-Submitted", "auto-generated"))
    data = mime.build(headers=headers, text=text, html=html, attachments=atts)
    envelope = list(to)
    if cfg.bcc_company:
        bcc = cfg.bcc_address or m.company.email
        if bcc and bcc not in envelope:
            envelope.append(bcc)  # envelope only: a Bcc header would show it to the client
    return Prepared(
        message=m, data=data, sender=cfg.from_email, to=to,
        envelope=envelope, subject=r.subject, message_id=mid,
        attachment_names=[a[0] for a in atts], note="; ".join(notes),
    )  # fmt: skip


# ---- SMTP -----------------------------------------------------------------------------


def _nodelay(sock: socket.socket | None) -> None:
    # Without it, STARTTLS sessions stall ~45 ms per message (Nagle against delayed ACK).
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=_setting("RECURENT_MAIL_CA_FILE", None))


def connect(cfg: SmtpSettings) -> smtplib.SMTP:
    """An open, authenticated connection; raises Temporary (the message itself is not at fault)."""
    blocked = hosts.non_public_address(cfg.host)
    if blocked:
        # Checked before each connection, not only when saved: DNS can change (SSRF).
        raise Temporary(f"{cfg.host}: refused: the address is not public ({blocked})")
    ehlo = (
        _setting("RECURENT_MAIL_EHLO_NAME", None)
        or cfg.from_email.rpartition("@")[2]
        or "localhost"
    )
    conn: smtplib.SMTP | None = None
    try:
        if cfg.security == Security.SSL:
            conn = smtplib.SMTP_SSL(
                cfg.host, cfg.port, local_hostname=ehlo, timeout=cfg.timeout, context=_tls_context()
            )
            _nodelay(conn.sock)
        else:
            conn = smtplib.SMTP(local_hostname=ehlo, timeout=cfg.timeout)
            conn.connect(cfg.host, cfg.port)
            _nodelay(conn.sock)
            if cfg.security == Security.STARTTLS:
                conn.ehlo()
                conn.starttls(context=_tls_context())
        conn.ehlo()
        if cfg.username:
            conn.login(cfg.username, crypto.decrypt(cfg.password_encrypted))
        return conn
    except crypto.DecryptionError as e:
        _close(conn)
        raise Temporary(str(e)) from None
    except smtplib.SMTPResponseException as e:
        _close(conn)
        # Refused login or greeting is a settings problem, not the message's: retried until
        # the limit, so that fixing the settings in time lets the messages go.
        raise Temporary(f"{cfg.host}:{cfg.port}: {e.smtp_code} {_text(e.smtp_error)}") from None
    except (OSError, smtplib.SMTPException) as e:
        _close(conn)
        raise Temporary(f"{cfg.host}:{cfg.port}: {type(e).__name__}: {e}") from None


def _close(conn: smtplib.SMTP | None) -> None:
    if conn is None:
        return
    try:
        conn.quit()
    except Exception:  # noqa: S110 - closing a broken connection; nothing to do
        try:
            conn.close()
        except Exception:  # noqa: S110
            pass


def _text(b: bytes | str) -> str:
    return (b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)).strip()[:1000]


def _answer(code: int, resp: bytes | str) -> str:
    return f"{code} {_text(resp)}"


def transact(conn: smtplib.SMTP, p: Prepared) -> tuple[str, dict[str, str]]:
    """One SMTP transaction; returns the DATA answer and the refused client addresses."""
    code, resp = conn.mail(p.sender)
    if code != 250:
        conn.rset()
        raise (Temporary if 400 <= code < 500 else Permanent)(f"MAIL FROM: {_answer(code, resp)}")
    refused: dict[str, tuple[int, str]] = {}
    for addr in p.envelope:
        code, resp = conn.rcpt(addr)
        if code not in (250, 251):
            refused[addr] = (code, _answer(code, resp))
        if addr == p.to[-1] and all(a in refused for a in p.to):
            # Every client address refused: nothing goes (not even the blind copy).
            conn.rset()
            answers = "; ".join(f"{a}: {r[1]}" for a, r in refused.items())
            temporary = any(400 <= r[0] < 500 for r in refused.values())
            raise (Temporary if temporary else Permanent)(f"RCPT TO refused: {answers}")
    code, resp = conn.data(p.data)
    if code != 250:
        conn.rset()
        raise (Temporary if 400 <= code < 500 else Permanent)(f"DATA: {_answer(code, resp)}")
    return _answer(code, resp), {a: r[1] for a, r in refused.items()}


# ---- state changes --------------------------------------------------------------------


def _claim(p: Prepared) -> bool:
    """Commit SENDING before any byte of the message goes out (see the module docstring)."""
    m = p.message
    with transaction.atomic():  # its own commit when called outside a transaction (the worker)
        n = OutboxMessage.objects.filter(pk=m.pk, state=OutboxState.PENDING).update(
            state=OutboxState.SENDING, sending_since=clock.now(), sending_owner=owner(),
            attempts=F("attempts") + 1, message_id=p.message_id, subject=p.subject[:300],
            recipients=p.envelope, attachments=p.attachment_names,
        )  # fmt: skip
    if n == 1:
        m.attempts += 1
    return n == 1


def _sent(p: Prepared, answer: str, refused: dict[str, str]) -> None:
    extra = [f"refused {a}: {r}" for a, r in refused.items()]
    if p.note:
        extra.append(p.note)
    OutboxMessage.objects.filter(pk=p.message.pk, state=OutboxState.SENDING).update(
        state=OutboxState.SENT,
        sent_at=clock.now(),
        last_response="; ".join([answer, *extra])[:2000],
        sending_owner="",
    )


def _failed(
    m: OutboxMessage, reason: str, *, temporary: bool, claimed: bool, now: datetime
) -> None:
    attempts = m.attempts if claimed else m.attempts + 1
    expected = OutboxState.SENDING if claimed else OutboxState.PENDING
    if temporary and attempts < max_attempts():
        state, not_before = OutboxState.PENDING, now + backoff(attempts)
        reason = (
            f"{reason} (attempt {attempts} of {max_attempts()}; next at {not_before.isoformat()})"
        )
    else:
        state, not_before = OutboxState.FAILED, m.not_before
        if temporary:
            reason = f"{reason} (gave up after {attempts} attempts)"
    OutboxMessage.objects.filter(pk=m.pk, state=expected).update(
        state=state, not_before=not_before, attempts=attempts, last_response=reason[:2000],
        sending_owner="",
    )  # fmt: skip
    log.warning("mail: outbox #%s %s: %s", m.pk, state, reason)


def _owner_gone(owner_str: str) -> bool:
    host, _, pid = owner_str.rpartition(":")
    if host != HOST or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def reconcile(*, as_of: datetime | None = None) -> int:
    """Settle rows left in SENDING by a sender that died (see the module docstring)."""
    now = as_of or clock.now()
    lease_cutoff = clock.now() - timedelta(seconds=LEASE_SECONDS)
    policy = on_uncertain()
    done = 0
    for m in OutboxMessage.objects.filter(state=OutboxState.SENDING).only(
        "pk", "sending_owner", "sending_since"
    ):
        if not (
            _owner_gone(m.sending_owner) or (m.sending_since and m.sending_since < lease_cutoff)
        ):
            continue
        since = m.sending_since.isoformat() if m.sending_since else "?"
        if policy == "resend":
            state, why = (
                OutboxState.PENDING,
                (
                    f"the sender stopped during delivery (started {since}); sent again with the same "
                    "Message-ID, so the client may receive it twice"
                ),
            )
        else:
            state, why = (
                OutboxState.UNKNOWN,
                (
                    f"the sender stopped during delivery (started {since}): the message may or may "
                    "not have arrived. Check with the client, then resend by hand if needed"
                ),
            )
        done += OutboxMessage.objects.filter(
            pk=m.pk, state=OutboxState.SENDING, sending_owner=m.sending_owner
        ).update(state=state, not_before=now, last_response=why, sending_owner="")
        log.warning("mail: outbox #%s left in sending by %s -> %s", m.pk, m.sending_owner, state)
    return done


# ---- the loop -------------------------------------------------------------------------


def send_pending(
    *,
    limit: int,
    as_of: datetime | None = None,
    message_ids: list[int] | None = None,
    stop: Callable[[], bool] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Deliver up to ``limit`` due messages; returns how many were attempted."""
    now = as_of or clock.now()
    reconcile(as_of=now)
    qs = OutboxMessage.objects.filter(state=OutboxState.PENDING, not_before__lte=now)
    if message_ids is not None:
        qs = qs.filter(pk__in=message_ids)
    # The batch's ids first (the due index, in order), then its rows with what they join: asked
    # as one query, PostgreSQL joined every waiting message to its invoice, contract and client
    # before keeping the first ``limit`` (190 ms a call with 12,000 waiting: issue 22).
    ids = list(qs.order_by("not_before", "pk").values_list("pk", flat=True)[:limit])
    batch = list(
        OutboxMessage.objects.filter(pk__in=ids, state=OutboxState.PENDING).select_related(
            "company", "reminder_rule", "invoice", "invoice__series", "invoice__contract",
            "invoice__client",
        ).order_by("not_before", "pk")[:limit]
    )  # fmt: skip
    by_company: dict[int, list[OutboxMessage]] = defaultdict(list)
    for m in batch:
        by_company[m.company_id].append(m)
    handled = 0
    for msgs in by_company.values():
        handled += _send_company(msgs, now, stop, progress)
        if stop and stop():
            break
    return handled


def _send_company(
    msgs: list[OutboxMessage],
    now: datetime,
    stop: Callable[[], bool] | None,
    progress: Callable[[int], None] | None,
) -> int:
    company = msgs[0].company
    cfg = SmtpSettings.objects.filter(company=company).first()
    if cfg is None:
        OutboxMessage.objects.filter(pk__in=[m.pk for m in msgs], state=OutboxState.PENDING).update(
            not_before=now + timedelta(seconds=NO_SETTINGS_RECHECK_SECONDS),
            last_response="waiting: the company has no SMTP settings yet",
        )
        return 0
    conn: smtplib.SMTP | None = None
    handled = 0
    templates: dict[Any, Any] = {}  # per batch: a template edited meanwhile is used next batch
    prefetched: Prefetched | None = None
    try:
        for i, m in enumerate(msgs):
            if stop and stop():
                break
            try:
                if i % PREFETCH == 0:  # the next run of messages' documents and links at once
                    prefetched = Prefetched.of(msgs[i : i + PREFETCH])
                p = _prepare(m, cfg, now, templates, prefetched)
            except Permanent as e:
                _failed(m, str(e), temporary=False, claimed=False, now=now)
                handled += 1
                continue
            if p is None:
                continue
            if conn is None:
                try:
                    conn = connect(cfg)
                except Temporary as e:
                    # The server is unreachable for all of this company's batch.
                    for rest in msgs[i:]:
                        _failed(rest, str(e), temporary=True, claimed=False, now=now)
                    return handled + len(msgs) - i
            if not _claim(p):
                continue  # another sender took it
            handled += 1
            try:
                answer, refused = transact(conn, p)
            except Permanent as e:
                _failed(m, str(e), temporary=False, claimed=True, now=now)
            except Temporary as e:
                _failed(m, str(e), temporary=True, claimed=True, now=now)
            except (smtplib.SMTPServerDisconnected, OSError, smtplib.SMTPException) as e:
                # Dropped mid-transaction: the server did not acknowledge the data, so by
                # RFC 5321 it is not responsible for it; retried with the same Message-ID.
                _failed(
                    m,
                    f"connection lost: {type(e).__name__}: {e}",
                    temporary=True,
                    claimed=True,
                    now=now,
                )
                _close(conn)
                conn = None
            else:
                _sent(p, answer, refused)
            if progress:
                progress(1)
    finally:
        _close(conn)
    return handled
