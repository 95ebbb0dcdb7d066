"""E-mail template bombs (issue 14, item 4): string growth is measured while a template renders,
so ``{% set a = a ~ a %}`` doubled 27 times is refused when saved, and the same bomb behind a
condition on one client fails that one message in the sender while the others go out.
"""

import json
import os
import subprocess
import sys

import pytest
from django.core.exceptions import ValidationError

from recurent.mail import templating
from recurent.mail.models import OutboxMessage, OutboxState
from recurent.mail.sender import send_pending
from recurent.mail.services import email_template_create
from tests.mail.conftest import mail_world, smtp_server  # noqa: F401
from tests.mail.helpers import AFTER, issue

DOUBLING = "{% set a = client.name %}" + "{% set a = a ~ a %}" * 27 + "{{ a }}"
PLUS = "{% set a = client.name %}" + "{% set a = a + a %}" * 27 + "{{ a }}"
REPLACE = "{{ client.name" + ('|replace("", "' + "x" * 60 + '")') * 4 + " }}"

SAVE_CHECK = r"""
import json, sys, time
def vm_hwm_mb():
    # The peak RSS of this process's own memory (VmHWM), not ru_maxrss: Linux carries
    # ru_maxrss over exec from the parent, so a child of a big pytest worker would report
    # the worker's peak.
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024

import django
django.setup()
from django.core.exceptions import ValidationError
from recurent.mail.templating import check_source
t = time.monotonic()
try:
    check_source(sys.argv[1], field="body_text", kind="invoice", html=False)
    outcome = "accepted"
except ValidationError as e:
    outcome = " ".join(e.message_dict["body_text"])
print(json.dumps({"outcome": outcome, "seconds": time.monotonic() - t,
                  "peak_mb": vm_hwm_mb()}))
"""


def test_the_doubling_bomb_is_refused_at_save_in_little_memory_and_time():
    # A subprocess: its peak RSS is the check's own (before: MemoryError at ~3 GB).
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "recurent.settings.test"}
    out = subprocess.run(
        [sys.executable, "-c", SAVE_CHECK, DOUBLING],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert str(templating.MAX_VALUE) in got["outcome"], got
    # Generous bounds (a loaded CI machine): unbounded, the doubling reached 3 GB and MemoryError.
    assert got["peak_mb"] < 250 and got["seconds"] < 20, got


@pytest.mark.parametrize("source", [DOUBLING, PLUS, REPLACE], ids=["concat", "plus", "replace"])
def test_every_way_of_growing_a_text_is_stopped_while_rendering(world, source):
    with pytest.raises(ValidationError) as e:
        email_template_create(
            company=world.company, code="boom", name="B", kind="invoice", language="ro",
            subject="x", body_html="<p>x</p>", body_text=source,
        )  # fmt: skip
    assert str(templating.MAX_VALUE) in " ".join(e.value.message_dict["body_text"])


def test_a_render_has_a_time_budget(monkeypatch):
    monkeypatch.setattr(templating, "RENDER_SECONDS", -1.0)  # already spent when it starts
    with pytest.raises(templating.RenderError, match="-1.0"):
        templating.render(
            subject="x", body_html="", body_text="{{ client.name|upper }}",
            context=templating.sample_context("invoice"),
        )  # fmt: skip


def test_ordinary_templates_render_as_before():
    r = templating.render(
        subject="Factura {{ invoice.full_number }}",
        body_html="<p>{{ client.name ~ ' & co' }}</p>",
        body_text="{{ client.name|upper + '!' }} {{ invoice.total|replace('.', ',') }}",
        context=templating.sample_context("invoice"),
    )
    assert r.subject == "Factura invoice.full_number"
    assert r.html == "<p>client.name &amp; co</p>"
    assert r.text == "CLIENT.NAME! invoice,total"


def test_a_bomb_for_one_client_fails_that_message_and_the_others_go_out(mail_world):  # noqa: F811
    conditional = (
        '{% set a = client.name %}{% if client.name == "Bomba SRL" %}'
        + "{% set a = a ~ a %}" * 27
        + "{% endif %}Buna ziua, {{ a }}"
    )
    # The sample client is not "Bomba SRL": the save check renders it without the bomb.
    email_template_create(
        company=mail_world.company, code="boom", name="B", kind="invoice", language="ro",
        subject="Factura {{ invoice.full_number }}", body_html="<p>x</p>", body_text=conditional,
    )  # fmt: skip
    issue(mail_world, 1, template="boom", name="Bomba SRL")
    issue(mail_world, 2, template="boom")
    assert send_pending(limit=10, as_of=AFTER) == 3
    by_client = {m.invoice.buyer_name: m for m in OutboxMessage.objects.select_related("invoice")}
    bomb = by_client.pop("Bomba SRL")
    assert bomb.state == OutboxState.FAILED
    assert "template boom" in bomb.last_response
    assert str(templating.MAX_VALUE) in bomb.last_response
    assert {m.state for m in by_client.values()} == {OutboxState.SENT}
    assert len(mail_world.smtp.received) == 2
