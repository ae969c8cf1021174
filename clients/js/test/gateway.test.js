// The client against a real gateway and publisher, which test/jsclient (Go)
// starts and names in SSEGATE_TEST_GATEWAY and SSEGATE_TEST_PUBLISHER.
// Node has no EventSource of its own before 22, so the client is given the
// `eventsource` package's (a devDependency), as Node applications do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import { connect } from '@ssegate/client';

const gateway = process.env.SSEGATE_TEST_GATEWAY;
const publisher = process.env.SSEGATE_TEST_PUBLISHER;
const skip = !gateway || !publisher ? 'SSEGATE_TEST_GATEWAY and SSEGATE_TEST_PUBLISHER are unset (run by go test ./test/jsclient)' : false;
const opts = { skip, timeout: 15000 };

let n = 0;
const topic = (name) => `js:${name}:${process.pid}:${n++}`;

// publish posts a generic event (keyed when key is given) and returns the
// id the publisher gave it.
async function publish(tp, data, key) {
  const resp = await fetch(publisher + '/v1/events', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(key === undefined ? { topic: tp, data } : { topic: tp, data, key }),
  });
  const body = await resp.json();
  assert.equal(resp.status, 202, JSON.stringify(body));
  return body.id;
}

// open connects with hooks that resolve promises: next(kind) waits for the
// next 'event', 'reset' or status of that name.
// hook, when given, receives push so that extra's callbacks can report too.
function open(extra, hook) {
  const queues = {};
  const waiters = {};
  const push = (kind, v) => {
    if (waiters[kind] && waiters[kind].length) waiters[kind].shift()(v);
    else (queues[kind] = queues[kind] || []).push(v);
  };
  if (hook) hook(push);
  const sub = connect(Object.assign({
    EventSource,
    url: gateway + '/api/sse/stream',
    onEvent: (name, data, id) => push('event', { name, data, id }),
    onReset: (info) => push('reset', info),
    onStatus: (s) => push(s, s),
    onState: (info) => push('state', info),
  }, extra));
  const next = (kind) => (queues[kind] && queues[kind].length)
    ? Promise.resolve(queues[kind].shift())
    : new Promise((r) => (waiters[kind] = waiters[kind] || []).push(r));
  return { sub, next };
}

test('a published event arrives parsed, with its id', opts, async (t) => {
  const tp = topic('live');
  const { sub, next } = open({ topics: [tp] });
  t.after(() => sub.close());
  await next('open');
  const id = await publish(tp, { event_type: 'TOMAR', tag_spool: 'SP-1' });
  assert.deepEqual(await next('event'), { name: 'message', data: { event_type: 'TOMAR', tag_spool: 'SP-1' }, id });
  assert.equal(sub.lastEventId, id);
  assert.equal(sub.status, 'open');
});

test('lastEventId resumes after that position', opts, async (t) => {
  const tp = topic('resume');
  const first = await publish(tp, { n: 1 });
  const second = await publish(tp, { n: 2 });
  const { sub, next } = open({ topics: [tp], lastEventId: first });
  t.after(() => sub.close());
  assert.deepEqual(await next('event'), { name: 'message', data: { n: 2 }, id: second });
});

test('a malformed position gives onReset, not onEvent', opts, async (t) => {
  const tp = topic('reset');
  const { sub, next } = open({ topics: [tp], lastEventId: 'not-an-id' });
  t.after(() => sub.close());
  const info = await next('reset');
  assert.equal(info.reason, 'malformed');
  assert.deepEqual(info.topics, [tp]);
  const id = await publish(tp, { after: 'reset' });
  assert.deepEqual(await next('event'), { name: 'message', data: { after: 'reset' }, id });
});

test('a refused stream (400) ends in closed without retryRefused', opts, async (t) => {
  const { sub, next } = open({ topics: ['bad topic\n'], retryRefused: false });
  t.after(() => sub.close());
  assert.equal(await next('closed'), 'closed');
});

test('a refused stream is reopened with backoff', opts, async (t) => {
  let push;
  const { sub, next } = open({
    topics: ['bad topic\n'],
    refusedRetryMs: 50,
    // Counts the EventSources the library opens.
    EventSource: class extends EventSource {
      constructor(...args) { super(...args); push('made', this.url); }
    },
  }, (p) => { push = p; });
  t.after(() => sub.close());
  for (let i = 0; i < 3; i++) await next('made');
  assert.equal(sub.status, 'reconnecting');
});

test('state: true gives every key\'s latest event, then onState, then live events', opts, async (t) => {
  const tp = topic('state');
  await publish(tp, { v: 'a1' }, 'a');
  const b = await publish(tp, { v: 'b1' }, 'b');
  const a = await publish(tp, { v: 'a2' }, 'a');
  const { sub, next } = open({ topics: [tp], state: true });
  t.after(() => sub.close());
  assert.deepEqual(await next('event'), { name: 'message', data: { v: 'b1' }, id: b });
  assert.deepEqual(await next('event'), { name: 'message', data: { v: 'a2' }, id: a });
  const info = await next('state');
  assert.equal(info.keys, 2);
  assert.equal(info.position, a);
  assert.equal(info.id, a);
  const live = await publish(tp, { v: 'b2' }, 'b');
  assert.deepEqual(await next('event'), { name: 'message', data: { v: 'b2' }, id: live });
});
