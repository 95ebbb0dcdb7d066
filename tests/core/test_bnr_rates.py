"""The BNR client against a local HTTP server serving BNR-shaped XML."""

import threading
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from recurent.rates.bnr import BnrError, parse
from recurent.rates.models import ExchangeRate
from recurent.rates.services import RateBook, RateUnavailable, rates_fetch_daily, rates_fetch_year

DAILY = b"""<?xml version="1.0" encoding="utf-8"?>
<DataSet xmlns="http://www.bnr.ro/xsd" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
 xsi:schemaLocation="http://www.bnr.ro/xsd nbrfxrates.xsd">
<Header><Publisher>National Bank of Romania</Publisher><PublishingDate>2026-08-21</PublishingDate>
<MessageType>DR</MessageType></Header>
<Body><Subject>Reference rates</Subject><OrigCurrency>RON</OrigCurrency>
<Cube date="2026-08-21"><Rate currency="AED">1.1874</Rate><Rate currency="EUR">5.0867</Rate>
<Rate currency="HUF" multiplier="100">1.2951</Rate><Rate currency="USD">4.3611</Rate></Cube>
</Body></DataSet>"""

YEAR = b"""<?xml version="1.0" encoding="utf-8"?>
<DataSet xmlns="https://www.bnr.ro/xsd"><Header><Publisher>National Bank of Romania</Publisher>
<PublishingDate>2026-01-06</PublishingDate><MessageType>DR</MessageType></Header>
<Body><Subject>Reference rates</Subject><OrigCurrency>RON</OrigCurrency>
<Cube date="2026-01-05"><Rate currency="EUR">5.0912</Rate></Cube>
<Cube date="2026-01-06"><Rate currency="EUR">5.0930</Rate></Cube>
</Body></DataSet>"""


@pytest.fixture
def bnr_server():
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = {"/nbrfxrates.xml": DAILY, "/files/xml/years/nbrfxrates2026.xml": YEAR}.get(
                self.path
            )
            if self.path == "/broken.xml":
                body = b"<html>maintenance</html"
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_port}", hits
    srv.shutdown()


def test_daily_file_is_fetched_and_stored_once_with_multipliers(db, bnr_server):
    base, hits = bnr_server
    assert rates_fetch_daily(f"{base}/nbrfxrates.xml") == 4
    assert (
        rates_fetch_daily(f"{base}/nbrfxrates.xml") == 0
    )  # a published rate is never stored twice
    huf = ExchangeRate.objects.get(currency="HUF")
    assert huf.rate == Decimal("0.01295100") and huf.multiplier == 100
    assert ExchangeRate.objects.get(currency="EUR").rate == Decimal("5.0867")


def test_yearly_archive_back_fills_with_the_new_namespace(db, bnr_server):
    base, _ = bnr_server
    assert rates_fetch_year(2026, f"{base}/files/xml/years/nbrfxrates{{year}}.xml") == 2
    book = RateBook(max_age_days=7)
    # A Saturday uses Friday's... here the last published before the date.
    assert book.rate("EUR", date(2026, 1, 10)).rate == Decimal("5.0930")
    with pytest.raises(RateUnavailable, match="too old"):
        book.rate("EUR", date(2026, 2, 10))
    with pytest.raises(RateUnavailable, match="none stored"):
        book.rate("EUR", date(2025, 12, 31))


def test_errors_name_what_went_wrong(db, bnr_server):
    base, _ = bnr_server
    with pytest.raises(BnrError, match="not XML"):
        rates_fetch_daily(f"{base}/broken.xml")
    with pytest.raises(BnrError, match="404"):
        rates_fetch_daily(f"{base}/missing.xml")
    with pytest.raises(BnrError, match="bad rate"):
        parse(
            b'<DataSet><Body><Cube date="2026-01-01"><Rate currency="EUR">abc</Rate></Cube></Body></DataSet>'
        )
