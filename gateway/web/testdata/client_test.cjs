// Behaviour tests of ssegate.js against a scripted fake EventSource, run by
// web_test.go with `node testdata/client_test.cjs`. Prints one JSON line per
// scenario: {"name": ..., "ok": true} or {"name": ..., "ok": false, "error": ...}.
'use strict';

const path = require('path');
const assert = require('assert/strict');
const SSEGate = require(path.join(__dirname, '..', 'ssegate.js'));

const CONNECTING = 0, OPEN = 1, CLOSED = 2;

// FakeES records every instance; the test drives it like a server would.
function fakeFactory() {
  const made = [];
  class FakeES {
    constructor(url, init) {
      this.url = url;
      this.withCredentials = !!(init && init.withCredentials);
      this.readyState = CONNECTING;
      this.lastEventId = '';
      this.listeners = {};
      this.closed = false;
      made.push(this);
    }
    addEventListener(name, fn) { (this.listeners[name] = this.listeners[name] || []).push(fn); }
    close() { this.closed = true; this.readyState = CLOSED; }
    open() { this.readyState = OPEN; this.onopen && this.onopen({}); }
    fail(final) { this.readyState = final ? CLOSED : CONNECTING; this.onerror && this.onerror({}); }
    emit(name, data, id) {
      if (id !== undefined) this.lastEventId = id;
      (this.listeners[name] || []).forEach((fn) => fn({ data, lastEventId: this.lastEventId }));
    }
  }
  return { FakeES, made };
}

// rec connects with hooks that record everything they see.
function rec(extra) {
  const { FakeES, made } = fakeFactory();
  const log = { events: [], resets: [], statuses: [], expired: 0 };
  const sub = SSEGate.connect(Object.assign({
    EventSource: FakeES,
    url: '/api/sse/stream',
    topics: ['spools:updates'],
    onEvent: (name, data, id) => log.events.push({ name, data, id }),
    onReset: (info) => log.resets.push(info),
    onStatus: (s) => log.statuses.push(s),
  }, extra));
  return { sub, made, log };
}

// waitFor polls cond on the event loop until it holds or 2 s pass.
async function waitFor(cond, what) {
  const deadline = Date.now() + 2000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 5));
  }
}
const tick = () => new Promise((r) => setTimeout(r, 20));

const scenarios = {
  'url, topics and credentials': async () => {
    const { made } = rec({ topics: ['spools:updates', 'a b&c'], withCredentials: true });
    assert.equal(made.length, 1);
    assert.equal(made[0].url, '/api/sse/stream?topic=spools%3Aupdates&topic=a%20b%26c');
    assert.equal(made[0].withCredentials, true);
    const { made: m2 } = rec({ url: 'https://gw.example/api/sse/stream?x=1', lastEventId: '5-0' });
    assert.equal(m2[0].url, 'https://gw.example/api/sse/stream?x=1&topic=spools%3Aupdates&lastEventId=5-0');
  },

  'status transitions': async () => {
    const { sub, made, log } = rec({ retryRefused: false });
    made[0].open();
    made[0].fail(false);
    made[0].open();
    made[0].fail(true);
    assert.deepEqual(log.statuses, ['connecting', 'open', 'reconnecting', 'open', 'closed']);
    assert.equal(sub.status, 'closed');
  },

  'data is parsed and ids tracked': async () => {
    const { sub, made, log } = rec({ events: ['custom'] });
    made[0].open();
    made[0].emit('message', '{"event_type":"TOMAR","tag_spool":"SP-1"}', '1-0');
    made[0].emit('message', 'not json');
    made[0].emit('custom', '[1,2]', '2-0');
    made[0].emit('unlisted', '{}', '3-0');
    assert.deepEqual(log.events, [
      { name: 'message', data: { event_type: 'TOMAR', tag_spool: 'SP-1' }, id: '1-0' },
      { name: 'message', data: 'not json', id: '1-0' },
      { name: 'custom', data: [1, 2], id: '2-0' },
    ]);
    // Events of names nobody listens to never reach the library, so they do not
    // move lastEventId (the browser's own Last-Event-ID still covers them).
    assert.equal(sub.lastEventId, '2-0');
  },

  'reset goes to onReset only': async () => {
    const { sub, made, log } = rec();
    made[0].open();
    made[0].emit('reset', '{"reason":"trimmed","topics":["spools:updates"]}', '9-0');
    assert.deepEqual(log.resets, [{ reason: 'trimmed', topics: ['spools:updates'], id: '9-0' }]);
    assert.equal(log.events.length, 0);
    assert.equal(sub.lastEventId, '9-0');
  },

  'shutdown reports reconnecting': async () => {
    const { made, log } = rec();
    made[0].open();
    made[0].emit('shutdown', '{}');
    assert.equal(log.statuses.at(-1), 'reconnecting');
    assert.equal(made[0].closed, false, 'EventSource itself reconnects after shutdown');
  },

  'token-expired refreshes then resumes': async () => {
    let release;
    const refreshed = new Promise((r) => { release = r; });
    let calls = 0;
    const { sub, made, log } = rec({ onTokenExpired: () => { calls++; return refreshed; } });
    made[0].open();
    made[0].emit('message', '{}', '7-0');
    made[0].emit('token-expired', '{}');
    assert.equal(made[0].closed, true, 'old source closed at once');
    assert.equal(log.statuses.at(-1), 'reconnecting');
    await tick();
    assert.equal(calls, 1);
    assert.equal(made.length, 1, 'no reconnect before the hook settles');
    release();
    await waitFor(() => made.length === 2, 'second EventSource');
    assert.equal(made[1].url, '/api/sse/stream?topic=spools%3Aupdates&lastEventId=7-0');
    made[0].emit('message', '{"late":true}', '8-0'); // events of the old source are ignored
    made[1].open();
    assert.equal(log.statuses.at(-1), 'open');
    assert.equal(log.events.length, 1);
    sub.close();
  },

  'token refresh failure closes': async () => {
    const { made, log } = rec({ onTokenExpired: () => Promise.reject(new Error('auth down')) });
    const warn = console.warn;
    console.warn = () => {};
    try {
      made[0].open();
      made[0].emit('token-expired', '{}');
      await waitFor(() => log.statuses.at(-1) === 'closed', 'closed status');
      await tick();
      assert.equal(made.length, 1);
    } finally {
      console.warn = warn;
    }
  },

  'close during refresh does not reconnect': async () => {
    let release;
    const { sub, made, log } = rec({ onTokenExpired: () => new Promise((r) => { release = r; }) });
    made[0].open();
    made[0].emit('token-expired', '{}');
    await tick();
    sub.close();
    release();
    await tick();
    assert.equal(made.length, 1);
    assert.equal(log.statuses.at(-1), 'closed');
  },

  'close stops everything': async () => {
    const { sub, made, log } = rec();
    made[0].open();
    sub.close();
    assert.equal(made[0].closed, true);
    made[0].emit('message', '{}', '1-0');
    made[0].fail(false);
    assert.equal(log.events.length, 0);
    assert.deepEqual(log.statuses, ['connecting', 'open', 'closed']);
  },

  'refused connections are retried with backoff from the last id': async () => {
    const { sub, made, log } = rec({ refusedRetryMs: 10 });
    made[0].open();
    made[0].emit('message', '{}', '7-0');
    made[0].fail(true);
    assert.equal(made[0].closed, true, 'the refused source is closed');
    assert.equal(log.statuses.at(-1), 'reconnecting');
    await waitFor(() => made.length === 2, 'first retry');
    assert.equal(made[1].url, '/api/sse/stream?topic=spools%3Aupdates&lastEventId=7-0');
    made[1].fail(true);
    const refusedAt = Date.now();
    await waitFor(() => made.length === 3, 'second retry');
    assert.ok(Date.now() - refusedAt >= 15, 'the delay doubles');
    made[2].open();
    assert.equal(sub.status, 'open');
    assert.deepEqual(log.statuses, ['connecting', 'open', 'reconnecting', 'open']);
    sub.close();
  },

  'reconnect after closed resumes from last id': async () => {
    const { sub, made, log } = rec({ retryRefused: false });
    made[0].open();
    made[0].emit('message', '{}', '4-0');
    made[0].fail(true);
    sub.reconnect();
    assert.equal(made.length, 2);
    assert.equal(made[1].url, '/api/sse/stream?topic=spools%3Aupdates&lastEventId=4-0');
    made[1].open();
    assert.deepEqual(log.statuses, ['connecting', 'open', 'closed', 'reconnecting', 'open']);
  },
};

(async () => {
  let failed = false;
  for (const [name, fn] of Object.entries(scenarios)) {
    try {
      await fn();
      console.log(JSON.stringify({ name, ok: true }));
    } catch (err) {
      failed = true;
      console.log(JSON.stringify({ name, ok: false, error: String(err && err.stack || err) }));
    }
  }
  process.exitCode = failed ? 1 : 0;
})();
