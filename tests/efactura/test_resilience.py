"""ANAF down, slow, rate limiting or answering nonsense: back off, never crash, never resend blindly."""

from __future__ import annotations

from datetime import timedelta

import pytest

from recurent.efactura import spv
from recurent.efactura.http import AnafMalformed, AnafRateLimited, Response
from recurent.efactura.models import Attempt, EfacturaState, EState, SpvConnection
from recurent.efactura.services import efactura_tick
from tests.factories import local

from .conftest import issue_one

T0 = local(2026, 1, 31, 9)
HTML_503 = (503, "text/html", b"<html><body>Service Unavailable</body></html>")


def tick_at(minutes: float) -> int:
    return efactura_tick(limit=50, as_of=T0 + timedelta(minutes=minutes))


def uploaded(world, anaf) -> EfacturaState:
    inv = issue_one(world)
    tick_at(0)
    st = EfacturaState.objects.get(pk=inv.pk)
    assert st.state == EState.UPLOADED
    return st


def test_5xx_on_status_backs_off_and_asks_nothing_until_then(world, anaf, connected):
    st = uploaded(world, anaf)
    anaf.processing_polls = 0
    anaf.script("stareMesaj", HTML_503, HTML_503)
    tick_at(1)
    conn = SpvConnection.objects.get(pk=connected.pk)
    assert conn.failures == 1 and conn.backoff_until == T0 + timedelta(minutes=1, seconds=30)
    hits = anaf.hits["stareMesaj"]
    tick_at(1.2)  # still backing off: not a single request
    assert anaf.hits["stareMesaj"] == hits
    tick_at(1.6)  # second failure: the pause doubles
    conn.refresh_from_db()
    assert conn.failures == 2 and conn.backoff_until == T0 + timedelta(minutes=1.6, seconds=60)
    tick_at(3)  # ANAF is back
    st.refresh_from_db()
    assert st.state == EState.ACCEPTED
    conn.refresh_from_db()
    assert conn.failures == 0 and conn.backoff_until is None


def test_a_status_timeout_is_a_failure_with_back_off(world, anaf, connected):
    st = uploaded(world, anaf)
    anaf.script("stareMesaj", "timeout")
    tick_at(1)
    a = Attempt.objects.filter(state=st, action="status").last()
    assert a.outcome == "unavailable" and "no answer within 0.4 s" in a.detail
    assert SpvConnection.objects.get(pk=connected.pk).backoff_until > T0 + timedelta(minutes=1)


def test_an_empty_204_is_treated_as_rate_limiting(world, anaf, connected):
    st = uploaded(world, anaf)
    anaf.script("stareMesaj", (204, "", b""))
    tick_at(1)
    st.refresh_from_db()
    assert st.state == EState.UPLOADED
    assert "empty answer" in Attempt.objects.filter(state=st, action="status").last().detail
    assert SpvConnection.objects.get(pk=connected.pk).backoff_until is not None


def test_429_on_upload_puts_it_back_in_the_queue_without_reconciliation(world, anaf, connected):
    anaf.script(
        "upload",
        (429, "application/json", b'{"message":"Too many requests"}', {"Retry-After": "120"}),
    )
    inv = issue_one(world)
    tick_at(0)
    st = EfacturaState.objects.get(pk=inv.pk)
    assert st.state == EState.QUEUED and st.retries == 1
    conn = SpvConnection.objects.get(pk=connected.pk)
    assert conn.backoff_until >= T0 + timedelta(seconds=120)
    tick_at(3)
    st.refresh_from_db()
    assert (
        st.state == EState.UPLOADED and anaf.hits["upload"] == 2
    )  # the first was refused at the door


def test_a_5xx_on_upload_is_an_unknown_outcome_and_goes_to_reconciliation(world, anaf, connected):
    anaf.script("upload", HTML_503)
    inv = issue_one(world)
    tick_at(0)
    st = EfacturaState.objects.get(pk=inv.pk)
    assert st.state == EState.UPLOADING  # ANAF may have registered it: never simply resent
    tick_at(11)  # reconciliation finds nothing yet; still not resent
    st.refresh_from_db()
    assert st.state == EState.UPLOADING and anaf.hits["upload"] == 1


def test_anaf_refusing_the_token_triggers_one_refresh_then_works(world, anaf, connected):
    st = uploaded(world, anaf)
    anaf.access.clear()  # access token revoked at ANAF
    anaf.processing_polls = 0
    tick_at(1)
    st.refresh_from_db()
    assert st.state == EState.ACCEPTED
    assert [r["grant_type"] for r in anaf.token_requests][-1] == "refresh_token"


def test_a_malformed_status_answer_is_recorded_and_retried_later(world, anaf, connected):
    st = uploaded(world, anaf)
    anaf.script("stareMesaj", (200, "application/xml", b'<header xmlns="x" stare="maybe"/>'))
    assert tick_at(1) >= 1
    st.refresh_from_db()
    a = Attempt.objects.filter(state=st, action="status").last()
    assert a.outcome == "failed" and "unknown stare 'maybe'" in a.detail
    assert st.state == EState.UPLOADED and st.next_attempt_at > T0 + timedelta(minutes=1)


def test_the_daily_status_quota_per_message_is_respected(world, anaf, connected):
    st = uploaded(world, anaf)
    anaf.processing_polls = 10_000
    EfacturaState.objects.filter(pk=st.pk).update(
        quota_day=(T0 + timedelta(minutes=1)).date(), status_queries=100
    )
    tick_at(1)
    st.refresh_from_db()
    assert anaf.hits["stareMesaj"] == 0
    assert st.next_attempt_at.astimezone(T0.tzinfo).date() == T0.date() + timedelta(days=1)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty answer"),
        (b"<html>Bad Gateway</html", "not XML"),
        (b"<html/>", "root element is <html>"),
        (b'<header ExecutionStatus="0"/>', "index_incarcare is 'missing'"),
        (b'<header ExecutionStatus="0" index_incarcare="abc"/>', "index_incarcare is 'abc'"),
        (b'<header ExecutionStatus="1"/>', "without any <Errors"),
        (b'<header ExecutionStatus="7"/>', "ExecutionStatus is '7'"),
    ],
)
def test_malformed_upload_answers_name_what_was_wrong(body, reason):
    with pytest.raises(AnafMalformed, match=reason):
        spv.parse_upload_answer(body)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'<header stare="ok"/>', "without a numeric id_descarcare"),
        (b"<header/>", "neither a 'stare' attribute nor <Errors>"),
        (
            b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><header stare="&e;"/>',
            "unknown stare|not XML",
        ),
    ],
)
def test_malformed_status_answers_name_what_was_wrong(body, reason):
    with pytest.raises(AnafMalformed, match=reason):
        spv.parse_status_answer(body)


def test_message_list_odd_cases():
    ok = Response(
        200, {}, b'{"eroare":"Nu exista mesaje in ultimele 3 zile","titlu":"Lista Mesaje"}'
    )
    assert spv.parse_message_list(ok) == []
    with pytest.raises(spv.AnafRefused, match="CIF introdus"):
        spv.parse_message_list(
            Response(200, {}, b'{"eroare":"CIF introdus= 123 nu este un numar"}')
        )
    with pytest.raises(AnafMalformed, match=r"mesaje\[0\] lacks id_solicitare"):
        spv.parse_message_list(
            Response(200, {}, b'{"mesaje":[{"id":"1","tip":"FACTURA TRIMISA"}]}')
        )
    with pytest.raises(AnafMalformed, match="data_creare '2026-01-01' is not YYYYMMDDHHMM"):
        spv.parse_message_list(
            Response(
                200,
                {},
                b'{"mesaje":[{"id":"1","id_solicitare":"2","tip":"T","data_creare":"2026-01-01"}]}',
            )
        )
    with pytest.raises(AnafMalformed, match="not JSON"):
        spv.parse_message_list(Response(200, {}, b"<html>maintenance</html>"))
    with pytest.raises(AnafRateLimited):
        spv.parse_message_list(Response(204, {}, b""))


def test_a_download_that_is_not_a_zip_is_malformed():
    with pytest.raises(AnafMalformed, match="expected a ZIP archive"):
        spv.check_zip(b"<html>oops</html>", "descarcare")
    with pytest.raises(AnafMalformed, match="broken ZIP"):
        spv.check_zip(b"PK\x03\x04garbage", "descarcare")
