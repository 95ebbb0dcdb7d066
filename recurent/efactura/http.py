"""The one place that talks HTTP to ANAF (urllib, standard library; see docs/efactura.md).

Every call returns a ``Response`` or raises one of the errors below, so callers can tell
"ANAF answered something we must act on" from "we do not know what happened".
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field


class AnafError(Exception):
    """Base of everything that can go wrong talking to ANAF."""


class AnafUnavailable(AnafError):
    """ANAF did not answer usefully: timeout, refused connection, 5xx.

    ``sent`` tells whether the request may have reached ANAF (a timeout after the body was
    sent, a 5xx): an upload in that case must be reconciled, never simply retried.
    """

    def __init__(self, message: str, *, status: int | None = None, sent: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.sent = sent


class AnafRateLimited(AnafError):
    """HTTP 429, or an empty 204 where an answer was expected: try again later."""

    def __init__(self, message: str, *, status: int, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class AnafUnauthorized(AnafError):
    """401/403: the access token is missing, expired or revoked."""


class AnafMalformed(AnafError):
    """ANAF answered, but not in the documented shape. The message names what was wrong."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str = ""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass
class RateLimiter:
    """At most ``per_minute`` requests in any 60 s window, in this process (sliding window).

    ANAF allows about 1000 requests/minute per client; the default stays well below that.
    """

    per_minute: int = 600
    _sent: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self, *, sleep=time.sleep, monotonic=time.monotonic) -> None:  # type: ignore[no-untyped-def]
        while True:
            with self._lock:
                t = monotonic()
                while self._sent and t - self._sent[0] >= 60.0:
                    self._sent.popleft()
                if len(self._sent) < self.per_minute:
                    self._sent.append(t)
                    return
                delay = 60.0 - (t - self._sent[0])
            sleep(max(delay, 0.01))


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
    limiter: RateLimiter | None = None,
) -> Response:
    """One HTTP exchange. 2xx/4xx come back as a Response (4xx bodies carry ANAF's reasons);
    401/403 raise AnafUnauthorized, 429 AnafRateLimited, 5xx and network trouble AnafUnavailable."""
    if limiter is not None:
        limiter.wait()
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            resp = Response(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read(), url)
    except urllib.error.HTTPError as e:
        try:
            payload = e.read()
        except (OSError, http.client.HTTPException):
            payload = b""
        resp = Response(e.code, {k.lower(): v for k, v in (e.headers or {}).items()}, payload, url)
    except urllib.error.URLError as e:
        reason = e.reason
        if isinstance(reason, socket.timeout | TimeoutError):
            raise AnafUnavailable(
                f"{method} {_path(url)}: no answer within {timeout:g} s"
            ) from None
        # Refused or unresolvable: the request never left, so it is safe to send again.
        raise AnafUnavailable(
            f"{method} {_path(url)}: cannot connect ({reason})", sent=False
        ) from None
    except TimeoutError:
        raise AnafUnavailable(f"{method} {_path(url)}: no answer within {timeout:g} s") from None
    except (ConnectionError, http.client.HTTPException, OSError) as e:
        raise AnafUnavailable(f"{method} {_path(url)}: connection broken ({e})") from None
    if resp.status in (401, 403):
        raise AnafUnauthorized(f"{method} {_path(url)}: HTTP {resp.status} (token refused)")
    if resp.status == 429:
        raise AnafRateLimited(
            f"{method} {_path(url)}: HTTP 429, too many requests",
            status=429,
            retry_after=_retry_after(resp.headers.get("retry-after")),
        )
    if resp.status >= 500:
        raise AnafUnavailable(
            f"{method} {_path(url)}: HTTP {resp.status} from ANAF", status=resp.status
        )
    return resp


def _path(url: str) -> str:
    """The URL without its query (tokens never travel in queries, but CUIs do: keep logs short)."""
    return url.split("?", 1)[0]
