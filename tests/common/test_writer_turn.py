"""Issue 22: on SQLite a billing run lets a person's write through between two of its blocks."""

import threading
import time

import pytest
from django.db import connection

from recurent.common import writer_turn


@pytest.fixture
def on_a_file(settings, tmp_path, monkeypatch):
    # The turn file sits beside the database file (an in-memory database has none).
    monkeypatch.setattr(writer_turn, "_turn_file", lambda: str(tmp_path / "db.sqlite3-turn"))


def _announce_for(seconds: float, started: threading.Event) -> threading.Thread:
    def person():
        with writer_turn.by_hand():
            started.set()
            time.sleep(seconds)

    t = threading.Thread(target=person)
    t.start()
    return t


def test_the_run_goes_on_at_once_when_nobody_waits(on_a_file):
    assert writer_turn.yield_to_people() < 0.05


def test_the_run_waits_while_a_person_writes(on_a_file):
    started = threading.Event()
    t = _announce_for(0.3, started)
    started.wait(2)
    waited = writer_turn.yield_to_people(max_wait=2.0)
    t.join()
    assert 0.2 <= waited < 1.0


def test_a_run_inside_a_persons_request_does_not_wait_for_itself(on_a_file):
    with writer_turn.by_hand():
        assert writer_turn.yield_to_people() < 0.05


def test_the_run_never_waits_longer_than_its_limit(on_a_file):
    started = threading.Event()
    t = _announce_for(1.0, started)
    started.wait(2)
    waited = writer_turn.yield_to_people(max_wait=0.2)
    t.join()
    assert 0.2 <= waited < 0.6


@pytest.mark.django_db
def test_a_post_announces_itself_and_a_get_does_not(on_a_file, client):
    from recurent.web.middleware import WriterTurn

    seen = []

    def view(request):
        from django.http import HttpResponse

        # A run in another thread (or process) would wait while this request writes.
        run = threading.Thread(
            target=lambda: seen.append(writer_turn.yield_to_people(max_wait=0.05) >= 0.05)
        )
        run.start()
        run.join()
        return HttpResponse("ok")

    mw = WriterTurn(view)
    from django.test import RequestFactory

    rf = RequestFactory()
    mw(rf.get("/"))
    mw(rf.post("/"))
    assert seen == [False, True]  # during the POST the run would have waited


def test_only_a_sqlite_file_database_takes_turns():
    # PostgreSQL queues its writers fairly; an in-memory SQLite has one process.
    name = str(connection.settings_dict["NAME"])
    on_file = connection.vendor == "sqlite" and ":memory:" not in name and "mode=memory" not in name
    assert (writer_turn._turn_file() is not None) == on_file
