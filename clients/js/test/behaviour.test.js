// Behaviour of connect() against a scripted fake EventSource: URLs, status
// changes, parsing, reset, token-expired refresh and resume, shutdown, close,
// refused connections and the jitter of the library's own delays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../src/ssegate.js';
import { fakeFactory } from './fake.js';

// rec connects with hooks that record everything they see.
function rec(extra) {
  const { FakeES, made } = fakeFactory();
  const log = { events: [], resets: [], statuses: [] };
  const sub = connect(Object.assign({
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

test('url, topics and credentials', () => {
  const { made } = rec({ topics: ['spools:updates', 'a b&c'], withCredentials: true });
  assert.equal(made.length, 1);
  assert.equal(made[0].url, '/api/sse/stream?topic=spools%3Aupdates&topic=a%20b%26c');
  assert.equal(made[0].withCredentials, true);
  const { made: m2 } = rec({ url: 'https://gw.example/api/sse/stream?x=1', lastEventId: '5-0' });
  assert.equal(m2[0].url, 'https://gw.example/api/sse/stream?x=1&topic=spools%3Aupdates&lastEventId=5-0');
});

test('status transitions', () => {
  const { sub, made, log } = rec({ retryRefused: false });
  made[0].open();
  made[0].fail(false);
  made[0].open();
  made[0].fail(true);
  assert.deepEqual(log.statuses, ['connecting', 'open', 'reconnecting', 'open', 'closed']);
  assert.equal(sub.status, 'closed');
});

test('data is parsed and ids tracked', () => {
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
});

test('reset goes to onReset only', () => {
  const { sub, made, log } = rec();
  made[0].open();
  made[0].emit('reset', '{"reason":"trimmed","topics":["spools:updates"]}', '9-0');
  assert.deepEqual(log.resets, [{ reason: 'trimmed', topics: ['spools:updates'], id: '9-0' }]);
  assert.equal(log.events.length, 0);
  assert.equal(sub.lastEventId, '9-0');
});

test('shutdown reports reconnecting', () => {
  const { made, log } = rec();
  made[0].open();
  made[0].emit('shutdown', '{}');
  assert.equal(log.statuses.at(-1), 'reconnecting');
  assert.equal(made[0].closed, false, 'EventSource itself reconnects after shutdown');
});

test('token-expired refreshes then resumes', async () => {
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
});

test('token refresh failure closes', async (t) => {
  t.mock.method(console, 'warn', () => {});
  const { made, log } = rec({ onTokenExpired: () => Promise.reject(new Error('auth down')) });
  made[0].open();
  made[0].emit('token-expired', '{}');
  await waitFor(() => log.statuses.at(-1) === 'closed', 'closed status');
  await tick();
  assert.equal(made.length, 1);
  assert.equal(console.warn.mock.callCount(), 1);
});

test('close during refresh does not reconnect', async () => {
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
});

test('close stops everything', () => {
  const { sub, made, log } = rec();
  made[0].open();
  sub.close();
  assert.equal(made[0].closed, true);
  made[0].emit('message', '{}', '1-0');
  made[0].fail(false);
  assert.equal(log.events.length, 0);
  assert.deepEqual(log.statuses, ['connecting', 'open', 'closed']);
});

test('refused connections are retried with backoff from the last id', async () => {
  const { sub, made, log } = rec({ refusedRetryMs: 10, retryJitter: 0 });
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
});

test('reconnect after closed resumes from last id', () => {
  const { sub, made, log } = rec({ retryRefused: false });
  made[0].open();
  made[0].emit('message', '{}', '4-0');
  made[0].fail(true);
  sub.reconnect();
  assert.equal(made.length, 2);
  assert.equal(made[1].url, '/api/sse/stream?topic=spools%3Aupdates&lastEventId=4-0');
  made[1].open();
  assert.deepEqual(log.statuses, ['connecting', 'open', 'closed', 'reconnecting', 'open']);
});

test('state option adds state=1 (or state=0) to the url', () => {
  assert.equal(rec({ state: true }).made[0].url, '/api/sse/stream?topic=spools%3Aupdates&state=1');
  assert.equal(rec({ state: false }).made[0].url, '/api/sse/stream?topic=spools%3Aupdates&state=0');
  assert.equal(rec({ state: true, lastEventId: '5-0' }).made[0].url,
    '/api/sse/stream?topic=spools%3Aupdates&state=1&lastEventId=5-0');
});

test('the state marker goes to onState only and moves lastEventId', () => {
  const states = [];
  const { sub, made, log } = rec({ state: true, events: ['state'], onState: (info) => states.push(info) });
  made[0].open();
  made[0].emit('message', '{"tag_spool":"SP-1"}', '3-0');
  made[0].emit('state', '{"position":"5-0","keys":1,"topics":[{"topic":"spools:updates","position":"5-0","keys":1}]}', '5-0');
  assert.deepEqual(states, [{ position: '5-0', keys: 1, topics: [{ topic: 'spools:updates', position: '5-0', keys: 1 }], id: '5-0' }]);
  assert.deepEqual(log.events, [{ name: 'message', data: { tag_spool: 'SP-1' }, id: '3-0' }]);
  assert.equal(sub.lastEventId, '5-0');
});
