"""ssegate_publisher against the real publisher (see tests/support.py)."""

import asyncio
import logging
import time
import unittest
import uuid

import ssegate_publisher
from tests import support


class Cases:
    """Every case, run through the sync call and the asyncio call."""

    def call(self, pub, *args):  # overridden
        raise NotImplementedError

    def setUp(self):
        support.require_env(self)
        self.tag = "PY-" + uuid.uuid4().hex[:12]

    def publisher(self, **kw):
        kw.setdefault("url", support.URL)
        kw.setdefault("token", support.TOKEN)
        return ssegate_publisher.SpoolPublisher(**kw)

    def assert_token_not_logged(self, logs):
        for line in logs.output:
            self.assertNotIn(support.TOKEN, line)

    def test_success(self):
        ok = self.call(self.publisher(), "TOMAR", self.tag, "Ana", "Corte")
        self.assertIs(ok, True)
        (ev,) = support.events_for(self.tag)
        self.assertEqual((ev["event_type"], ev["worker_nombre"], ev["estado_detalle"]), ("TOMAR", "Ana", "Corte"))
        self.assertRegex(ev["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

    def test_optional_fields_absent(self):
        self.assertIs(self.call(self.publisher(), "COMPLETAR", self.tag), True)
        (ev,) = support.events_for(self.tag)
        self.assertIsNone(ev["worker_nombre"])
        self.assertIsNone(ev["estado_detalle"])

    def test_bad_request(self):
        with self.assertLogs("ssegate_publisher", "WARNING") as logs:
            ok = self.call(self.publisher(), "BOGUS", self.tag, "Ana", None)
        self.assertIs(ok, False)
        self.assertIn("HTTP 400 unknown_event_type", "\n".join(logs.output))
        self.assertEqual(len(logs.output), 1, "a 400 is not retried")
        self.assertEqual(support.events_for(self.tag), [])

    def test_unauthorized(self):
        with self.assertLogs("ssegate_publisher", "WARNING") as logs:
            ok = self.call(self.publisher(token="not-the-token"), "TOMAR", self.tag, None, None)
        self.assertIs(ok, False)
        self.assertIn("HTTP 401 invalid_token", "\n".join(logs.output))
        self.assertEqual(support.events_for(self.tag), [])

    def test_redis_down_then_success(self):
        """503 + Retry-After while Redis is down; the retry, after Redis is
        back, publishes the event once."""
        support.control("POST", "/redis/stop")
        restarted = RestartOnRetry()
        try:
            with self.assertLogs("ssegate_publisher", "WARNING") as logs:
                # After assertLogs, which replaces the logger's handlers.
                logging.getLogger("ssegate_publisher").addHandler(restarted)
                ok = self.call(self.publisher(timeout=30), "PAUSAR", self.tag, "Ana", "Armado")
        finally:
            if not restarted.key:
                support.control("POST", "/redis/restart")
        self.assertIn("HTTP 503 redis_unavailable", "\n".join(logs.output))
        self.assertIs(ok, True, logs.output)
        self.assertEqual(len(support.events_for(self.tag)), 1)
        self.assertIn(restarted.key, support.idempotency_keys())
        self.assert_token_not_logged(logs)

    def test_lost_answer_is_not_published_twice(self):
        """The publisher publishes but its answer is lost: the retry with
        the same Idempotency-Key is answered from the first publish."""
        proxy = support.LosingProxy(support.URL)
        try:
            with self.assertLogs("ssegate_publisher", "WARNING") as logs:
                ok = self.call(self.publisher(url=proxy.url, timeout=10), "TOMAR", self.tag, "Ana", None)
        finally:
            proxy.close()
        self.assertIs(ok, True, logs.output)
        self.assertEqual(proxy.connections, 2)
        self.assertEqual(len(support.events_for(self.tag)), 1, "published twice")

    def test_timeout(self):
        server = support.SilentServer()
        try:
            start = time.monotonic()
            with self.assertLogs("ssegate_publisher", "WARNING") as logs:
                ok = self.call(self.publisher(url=server.url, timeout=0.5), "TOMAR", self.tag, None, None)
            elapsed = time.monotonic() - start
        finally:
            server.close()
        self.assertIs(ok, False)
        self.assertIn("timed out", "\n".join(logs.output))
        self.assertLess(elapsed, 1.5)
        self.assertGreaterEqual(elapsed, 0.45)


class RestartOnRetry(logging.Handler):
    """Restarts Redis (through the Go side) when the publisher announces
    its retry, before it waits: the retry then meets a working Redis."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.key = None

    def emit(self, record):
        if "retrying once" in record.msg and self.key is None:
            self.key = record.args[-1]
            support.control("POST", "/redis/restart")


class SyncTest(Cases, unittest.TestCase):
    def call(self, pub, *args):
        return pub.publish_spool_update(*args)


class AsyncTest(Cases, unittest.TestCase):
    def call(self, pub, *args):
        return asyncio.run(self._call(pub, *args))

    async def _call(self, pub, *args):
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        t = asyncio.create_task(ticker())
        start = time.monotonic()
        try:
            ok = await pub.publish_spool_update_async(*args)
        finally:
            t.cancel()
        if time.monotonic() - start > 0.3:  # the loop kept running meanwhile
            self.assertGreater(ticks, 5)
        return ok


class ConfigTest(unittest.TestCase):
    def setUp(self):
        support.require_env(self)

    def test_module_function_reads_the_environment(self):
        tag = "PY-" + uuid.uuid4().hex[:12]
        self.assertIs(ssegate_publisher.publish_spool_update("STATE_CHANGE", tag, "Ana", "x"), True)
        self.assertIs(asyncio.run(ssegate_publisher.publish_spool_update_async("STATE_CHANGE", tag)), True)
        self.assertEqual(len(support.events_for(tag)), 2)

    def test_bad_url_fails_at_start(self):
        with self.assertRaisesRegex(ValueError, "http"):
            ssegate_publisher.SpoolPublisher(url="publisher:8081", token="t")

    def test_never_raises_on_bad_arguments(self):
        pub = ssegate_publisher.SpoolPublisher(url=support.URL, token=support.TOKEN)
        with self.assertLogs("ssegate_publisher", "WARNING"):
            self.assertIs(pub.publish_spool_update("TOMAR", object()), False)


if __name__ == "__main__":
    unittest.main()
