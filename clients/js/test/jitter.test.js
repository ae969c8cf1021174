// Issue 15: the library's own reopenings are jittered, so the clients of a
// replica that died do not all arrive at the others at the same moment.
// Each delay d is drawn from [d·(1−retryJitter), d]; Math.random and the
// timers are mocked, so nothing here waits for real time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../src/ssegate.js';
import { fakeFactory } from './fake.js';

// refusedAfter returns the number of EventSources made after a refusal and
// `ms` of (mocked) time, with Math.random() returning r.
function refusedAfter(t, r, ms, extra) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  t.mock.method(Math, 'random', () => r);
  const { FakeES, made } = fakeFactory();
  const sub = connect(Object.assign({ EventSource: FakeES, topics: ['a'], refusedRetryMs: 1000 }, extra));
  made[0].fail(true);
  t.mock.timers.tick(ms);
  const n = made.length;
  sub.close();
  return n;
}

for (const [name, r, extra, before, at] of [
  ['default: random 1 halves the delay', 1, {}, 499, 500],
  ['default: random 0 keeps the full delay', 0, {}, 999, 1000],
  ['retryJitter 0.2: at most 20% shorter', 1, { retryJitter: 0.2 }, 799, 800],
  ['retryJitter 0: no jitter', 1, { retryJitter: 0 }, 999, 1000],
  ['out-of-range retryJitter falls back to 0.5', 1, { retryJitter: 7 }, 499, 500],
]) {
  test(name, (t) => {
    assert.equal(refusedAfter(t, r, before, extra), 1, `no retry after ${before} ms`);
  });
  test(name + ' (retry)', (t) => {
    assert.equal(refusedAfter(t, r, at, extra), 2, `a retry after ${at} ms`);
  });
}

test('the doubled delay is jittered too, and the cap stays an upper bound', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  t.mock.method(Math, 'random', () => 1);
  const { FakeES, made } = fakeFactory();
  const sub = connect({ EventSource: FakeES, topics: ['a'], refusedRetryMs: 20000 });
  made[0].fail(true);
  t.mock.timers.tick(10000); // 20 s halved
  assert.equal(made.length, 2);
  made[1].fail(true);        // 40 s → capped at 30 s, halved
  t.mock.timers.tick(14999);
  assert.equal(made.length, 2);
  t.mock.timers.tick(1);
  assert.equal(made.length, 3);
  sub.close();
});
