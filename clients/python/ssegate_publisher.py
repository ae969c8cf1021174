"""Publish spool updates to ssegate's publisher from the FastAPI backend.

A drop-in for the old ``RedisEventService.publish_spool_update``: the same
arguments, ``True`` when the event was accepted and ``False`` otherwise, and
it never raises into the state machine that calls it. Instead of a raw Redis
``PUBLISH`` on ``spools:updates`` it POSTs the same JSON to the publisher's
``/publish`` endpoint, which stores the event in the topic's history (so
browsers that reconnect get what they missed) and publishes it.

Behaviour of one call:

* the body is the old event (``event_type``, ``tag_spool``,
  ``worker_nombre``, ``estado_detalle``, ``timestamp`` in UTC ISO 8601, taken
  when the call is made);
* every call gets a fresh ``Idempotency-Key``; a retry sends the same key,
  so a publish whose answer was lost is never delivered twice;
* at most one retry, only for answers that mean "try again" (502, 503, 504,
  429, a refused or dropped connection), after ``Retry-After`` when the
  remaining time allows it;
* ``timeout`` bounds the whole call, retry included (default 2 s): a stuck
  publisher stalls a state transition by at most that much;
* failures are logged at WARNING on the ``ssegate_publisher`` logger with
  the status, error code and message; the token is never logged.

Only the standard library is used, so Debian's ``python3`` runs it as is.
``publish_spool_update_async`` runs the same code in the event loop's
default executor: it never blocks the loop.

Configuration: arguments, or the environment variables
``SPOOLS_SSEGATE_URL`` (the publisher's base URL, e.g.
``http://publisher:8081``), ``SPOOLS_SSEGATE_TOKEN`` (a publish token) or
``SPOOLS_SSEGATE_TOKEN_FILE`` (a file holding it), and
``SPOOLS_SSEGATE_TIMEOUT`` (seconds). The names do not start with
``SSEGATE_``: the ssegate services refuse unknown ``SSEGATE_*`` variables at
start, and the backend and the services may share one environment file.
"""

import asyncio
import datetime
import functools
import http.client
import json
import logging
import os
import socket
import ssl
import time
import urllib.parse
import uuid

__all__ = [
    "SpoolPublisher",
    "publish_spool_update",
    "publish_spool_update_async",
    "DEFAULT_TIMEOUT",
]

__version__ = "0.1.0"

#: The longest one call blocks, retry included, in seconds.
DEFAULT_TIMEOUT = 2.0

#: A retry is not attempted with less time than this left.
_MIN_ATTEMPT = 0.1

#: The wait before the retry when the answer gave no Retry-After.
_DEFAULT_RETRY_WAIT = 0.2

#: Statuses after which the same request may succeed later.
_RETRY_STATUSES = frozenset({429, 502, 503, 504})

_ENV_URL = "SPOOLS_SSEGATE_URL"
_ENV_TOKEN = "SPOOLS_SSEGATE_TOKEN"
_ENV_TOKEN_FILE = "SPOOLS_SSEGATE_TOKEN_FILE"
_ENV_TIMEOUT = "SPOOLS_SSEGATE_TIMEOUT"

log = logging.getLogger("ssegate_publisher")


class _Outcome:
    """What one attempt gave: ok, or why not and whether to retry."""

    __slots__ = ("ok", "retry", "retry_after", "reason")

    def __init__(self, ok, retry=False, retry_after=None, reason=""):
        self.ok = ok
        self.retry = retry
        self.retry_after = retry_after
        self.reason = reason


class SpoolPublisher:
    """Publishes spool events to ssegate's ``POST /publish``.

    ``url`` is the publisher's base URL (``http://publisher:8081``); a URL
    that already ends in ``/publish`` is used as it is. ``token`` is sent
    as ``Authorization: Bearer``; without one no header is sent (the
    publisher's anonymous mode). Missing arguments are read from the
    environment (see the module documentation). A missing or malformed URL
    raises ``ValueError`` here, at start, never in a publish call.

    An instance holds no connection and is safe to share between threads
    and event loops.
    """

    def __init__(self, url=None, token=None, timeout=None, logger=None):
        url = url if url is not None else os.environ.get(_ENV_URL, "")
        if token is None:
            token = _token_from_env()
        if timeout is None:
            raw = os.environ.get(_ENV_TIMEOUT) or DEFAULT_TIMEOUT
            try:
                timeout = float(raw)
            except ValueError:
                raise ValueError("ssegate_publisher: %s=%r is not a number of seconds" % (_ENV_TIMEOUT, raw)) from None
        if not timeout > 0:
            raise ValueError("ssegate_publisher: timeout must be a positive number of seconds")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                "ssegate_publisher: the publisher URL must be http(s)://host[:port] "
                "(argument url or %s), got %r" % (_ENV_URL, _redact(url))
            )
        path = parts.path.rstrip("/")
        if not path.endswith("/publish"):
            path += "/publish"
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = path
        self._where = "%s://%s%s" % (parts.scheme, parts.netloc.rpartition("@")[2], path)
        self._token = token or None
        self._timeout = float(timeout)
        self._log = logger or log

    def publish_spool_update(self, event_type, tag_spool, worker_nombre=None, estado_detalle=None):
        """Publish one spool event; True when the publisher accepted it.

        Never raises: every failure is logged and returns False.
        """
        try:
            body = _spool_body(event_type, tag_spool, worker_nombre, estado_detalle)
        except (TypeError, ValueError) as e:
            self._log.warning("ssegate publish %s %s: not sent: %s", event_type, tag_spool, e)
            return False
        try:
            return self._publish(body, "%s %s" % (event_type, tag_spool))
        except Exception:  # never into the state machine
            self._log.warning("ssegate publish %s %s: unexpected error", event_type, tag_spool, exc_info=True)
            return False

    async def publish_spool_update_async(self, event_type, tag_spool, worker_nombre=None, estado_detalle=None):
        """The asyncio variant: the same call in the loop's default executor.

        Never raises except ``asyncio.CancelledError`` when the awaiting task
        is cancelled (the request then finishes in its thread, bounded by
        the timeout).
        """
        loop = asyncio.get_running_loop()
        call = functools.partial(self.publish_spool_update, event_type, tag_spool, worker_nombre, estado_detalle)
        try:
            return await loop.run_in_executor(None, call)
        except asyncio.CancelledError:
            raise
        except Exception:  # e.g. the executor was shut down
            self._log.warning("ssegate publish %s %s: unexpected error", event_type, tag_spool, exc_info=True)
            return False

    def _publish(self, body, what):
        """At most two attempts with one Idempotency-Key, within the timeout."""
        deadline = time.monotonic() + self._timeout
        key = str(uuid.uuid4())
        first = self._attempt(body, key, deadline)
        if first.ok or not first.retry:
            if not first.ok:
                self._log.warning("ssegate publish %s: failed: %s", what, first.reason)
            return first.ok
        wait = first.retry_after if first.retry_after is not None else _DEFAULT_RETRY_WAIT
        if deadline - time.monotonic() - wait < _MIN_ATTEMPT:
            self._log.warning("ssegate publish %s: failed: %s (no time left to retry)", what, first.reason)
            return False
        self._log.warning(
            "ssegate publish %s: %s; retrying once in %.1fs with the same Idempotency-Key %s",
            what, first.reason, wait, key,
        )
        time.sleep(wait)
        second = self._attempt(body, key, deadline)
        if not second.ok:
            self._log.warning("ssegate publish %s: retry failed: %s", what, second.reason)
        return second.ok

    def _attempt(self, body, key, deadline):
        """One POST; every error becomes an _Outcome."""
        left = deadline - time.monotonic()
        if left <= 0:
            return _Outcome(False, reason="timed out")
        conn = self._connection(left)
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            "User-Agent": "ssegate-publisher-python/" + __version__,
        }
        if self._token:
            headers["Authorization"] = "Bearer " + self._token
        try:
            conn.request("POST", self._path, body=body, headers=headers)
            # http.client's timeout is per socket operation: give the answer
            # only what is left of the call's time.
            if conn.sock is not None:
                conn.sock.settimeout(max(deadline - time.monotonic(), 0.001))
            resp = conn.getresponse()
            status, text = resp.status, resp.read(65536)
            retry_after = _retry_after(resp.getheader("Retry-After"))
        except (OSError, http.client.HTTPException) as e:
            timed_out = isinstance(e, socket.timeout)  # TimeoutError since 3.10
            reason = "timed out after %.1fs (%s)" % (self._timeout, self._where) if timed_out else (
                "%s: %s" % (self._where, e.__class__.__name__ + (": %s" % e if str(e) else "")))
            return _Outcome(False, retry=not timed_out, reason=reason)
        finally:
            conn.close()
        if 200 <= status < 300:
            return _Outcome(True)
        return _Outcome(False, retry=status in _RETRY_STATUSES, retry_after=retry_after,
                        reason="HTTP %d %s" % (status, _error_text(text)))

    def _connection(self, timeout):
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout,
                                               context=ssl.create_default_context())
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)


def _spool_body(event_type, tag_spool, worker_nombre, estado_detalle):
    """The old event's JSON, with the time of the call as its timestamp."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return json.dumps({
        "event_type": _text(event_type),
        "tag_spool": _text(tag_spool),
        "worker_nombre": _text(worker_nombre),
        "estado_detalle": _text(estado_detalle),
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _text(v):
    """A str for JSON: str Enums give their value, None stays None."""
    if v is None or type(v) is str:
        return v
    value = getattr(v, "value", v)  # an Enum member such as EventType.TOMAR
    if isinstance(value, str):
        return str(value)
    raise TypeError("expected a string, got %s" % type(v).__name__)


def _retry_after(v):
    """Retry-After in seconds (RFC 9110 delay-seconds), or None."""
    try:
        secs = float(v)
    except (TypeError, ValueError):
        return None
    return secs if secs >= 0 else None


def _error_text(body):
    """'code: message' from ssegate's {"error":{"code","message"}}, or a snippet."""
    try:
        err = json.loads(body.decode("utf-8"))["error"]
        return "%s: %s" % (err["code"], err["message"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return repr(body[:200])


def _redact(url):
    """url without user information, for messages."""
    parts = urllib.parse.urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl() if parts.netloc else url


def _token_from_env():
    token = os.environ.get(_ENV_TOKEN)
    path = os.environ.get(_ENV_TOKEN_FILE)
    if token and path:
        raise ValueError("ssegate_publisher: set %s or %s, not both" % (_ENV_TOKEN, _ENV_TOKEN_FILE))
    if path:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    return token


def publish_spool_update(event_type, tag_spool, worker_nombre=None, estado_detalle=None):
    """Publish with a SpoolPublisher configured from the environment.

    Never raises: a missing configuration is logged and returns False.
    """
    pub = _default_publisher()
    if pub is None:
        return False
    return pub.publish_spool_update(event_type, tag_spool, worker_nombre, estado_detalle)


async def publish_spool_update_async(event_type, tag_spool, worker_nombre=None, estado_detalle=None):
    """The asyncio variant of publish_spool_update."""
    pub = _default_publisher()
    if pub is None:
        return False
    return await pub.publish_spool_update_async(event_type, tag_spool, worker_nombre, estado_detalle)


@functools.lru_cache(maxsize=1)
def _configured():
    """The environment's publisher, built once (or the error, kept too)."""
    try:
        return SpoolPublisher(), None
    except (ValueError, OSError) as e:
        return None, e


def _default_publisher():
    pub, err = _configured()
    if err is not None:
        log.warning("ssegate publish: not configured: %s", err)
    return pub
