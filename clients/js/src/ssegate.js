/*! @ssegate/client — a tiny, dependency-free client for the ssegate SSE gateway.
 *
 * This file is the one source of the client: npm users import it as an ES module,
 * and the gateway serves it as /static/ssegate.mjs and, wrapped as a classic script
 * that defines window.SSEGate, as /static/ssegate.js (see clients/js/embed.go).
 *
 *   import { connect } from '@ssegate/client';        // or '/static/ssegate.mjs'
 *   const sub = connect({
 *     url: '/api/sse/stream', topics: ['spools:updates'], withCredentials: true,
 *     onEvent(name, data, id) { ... },   // data is parsed JSON (raw string if not JSON)
 *     onReset(info) { ... },             // {reason, topics, id}: position lost; the state follows
 *     state: true,                       // ?state=1: every key's latest event, then the marker
 *     onState(info) { ... },             // {position, keys, topics, id}: the state is complete
 *     onStatus(state) { ... },           // 'connecting' | 'open' | 'reconnecting' | 'closed'
 *     onTokenExpired() { return refreshCookie(); }, // may return a Promise
 *   });
 *   sub.close();
 *
 * How reconnection works (WHATWG HTML §9.2 "Server-sent events"):
 * - EventSource reconnects by itself when a stream ends (server restart, network
 *   blip, `event: shutdown` while the gateway drains). It waits the `retry:` delay
 *   the gateway sent and resends the last `id:` it saw in the `Last-Event-ID`
 *   header, so the gateway replays what was missed. We report 'reconnecting'.
 * - Any non-200 answer (401 expired cookie, 429 rate limit, 503 no Redis or a
 *   gateway still starting, …) or a wrong Content-Type makes EventSource give up
 *   for good (readyState CLOSED). Most of those are passing, so by default we
 *   open a new EventSource after about 1 s, 2 s, 4 s … at most 30 s (reported as
 *   'reconnecting'), resuming from the last id; `retryRefused: false` reports
 *   'closed' instead and leaves reconnect() to the page.
 * - `event: token-expired` is sent just before the gateway closes the stream. The
 *   browser would reconnect with the same stale cookie and get a 401, so instead we
 *   close, await onTokenExpired() (which should refresh the cookie) and open a new
 *   EventSource. A new EventSource cannot set Last-Event-ID, so the last id is
 *   passed as the `lastEventId` query parameter instead.
 * - Our own delays are jittered (each is drawn from [d·(1−retryJitter), d], default
 *   retryJitter 0.5): when a gateway replica dies, its clients spread their reopenings
 *   over time instead of arriving at the other replicas all at once.
 */

var CONNECTING = 0, CLOSED = 2; // EventSource.readyState values
var CONTROL = ['reset', 'token-expired', 'shutdown', 'state'];
var MAX_DELAY = 30000;

function parse(text) {
  try { return JSON.parse(text); } catch (e) { return text; }
}

function buildURL(base, topics, state, lastId, idParam) {
  var q = [];
  (topics || []).forEach(function (t) { q.push('topic=' + encodeURIComponent(t)); });
  if (state === true) q.push('state=1');
  else if (state === false) q.push('state=0');
  if (lastId) q.push(encodeURIComponent(idParam) + '=' + encodeURIComponent(lastId));
  if (!q.length) return base;
  return base + (base.indexOf('?') < 0 ? '?' : '&') + q.join('&');
}

/** jittered returns a delay drawn uniformly from [ms·(1−jitter), ms]. */
function jittered(ms, jitter) {
  return ms - ms * jitter * Math.random();
}

/**
 * Opens a stream. Options:
 *   url              stream endpoint (default '/api/sse/stream'); may be absolute
 *   topics           array of topics, sent as repeated `topic=` parameters
 *   withCredentials  send cookies cross-origin (the gateway must allow the origin)
 *   events           extra `event:` names to deliver to onEvent besides 'message'
 *   state            true: ask for the initial state (`state=1`): every key's latest
 *                    event arrives through onEvent, then onState; false: decline a
 *                    state the gateway would send by default (`state=0`); unset: neither
 *   onEvent(name, data, id), onReset(info), onStatus(state), onTokenExpired()
 *   onState(info)    `event: state`, the marker after the state: {position, keys,
 *                    topics, id}; also after a reset of a topic with keyed state
 *   lastEventId      position to resume from on the first connection
 *   lastEventIdParam query parameter for manual resumes (default 'lastEventId')
 *   EventSource      constructor to use (Node's `eventsource` package, a polyfill, a fake)
 *   retryRefused     reopen after a refused connection (default true)
 *   refusedRetryMs   first delay of that retry (default 1000; doubles up to 30 s)
 *   retryJitter      fraction of each of our delays that is random (0…1, default 0.5)
 * Returns {close(), reconnect(), lastEventId, status}.
 */
function connect(opts) {
  opts = opts || {};
  var ES = opts.EventSource || globalThis.EventSource;
  if (typeof ES !== 'function') throw new Error('SSEGate: EventSource is not available');
  var base = opts.url || '/api/sse/stream';
  var idParam = opts.lastEventIdParam || 'lastEventId';
  var names = ['message'].concat(opts.events || []);
  var noop = function () {};
  var onEvent = opts.onEvent || noop, onReset = opts.onReset || noop;
  var onStatus = opts.onStatus || noop, onState = opts.onState || noop;
  var jitter = opts.retryJitter >= 0 && opts.retryJitter <= 1 ? opts.retryJitter : 0.5;

  var es = null;          // current EventSource
  var stopped = false;    // close() was called
  var lastExpiry = 0;     // time of the last token-expired, to back off on loops
  var backoff = 0;        // ms to wait before the next token-driven reconnect
  var refused = 0;        // ms to wait before reopening after a refusal (0 = none yet)
  var retryRefused = opts.retryRefused !== false;
  var firstRefusedMs = opts.refusedRetryMs > 0 ? opts.refusedRetryMs : 1000;
  var timer = null;
  var handle = { lastEventId: opts.lastEventId || '', status: '' };

  function setStatus(s) {
    if (handle.status === s) return;
    handle.status = s;
    onStatus(s);
  }

  function track(ev) { if (ev.lastEventId) handle.lastEventId = ev.lastEventId; }

  function open() {
    if (stopped) return;
    setStatus(handle.status === '' ? 'connecting' : 'reconnecting');
    var src = new ES(buildURL(base, opts.topics, opts.state, handle.lastEventId, idParam),
      { withCredentials: !!opts.withCredentials });
    es = src;
    // Each listener ignores a source that has been replaced or closed.
    var live = function (fn) {
      return function (ev) { if (es === src && !stopped) fn(ev); };
    };
    src.onopen = live(function () { refused = 0; setStatus('open'); });
    src.onerror = live(function () {
      if (src.readyState === CLOSED) {                              // non-200: EventSource gave up
        if (!retryRefused) { setStatus('closed'); return; }
        src.close();
        es = null;
        refused = refused ? Math.min(refused * 2, MAX_DELAY) : firstRefusedMs;
        setStatus('reconnecting');
        schedule(jittered(refused, jitter));
      }
      else if (src.readyState === CONNECTING) setStatus('reconnecting'); // auto-retry
    });
    names.forEach(function (name) {
      if (CONTROL.indexOf(name) >= 0) return;
      src.addEventListener(name, live(function (ev) {
        track(ev);
        onEvent(name, parse(ev.data), ev.lastEventId);
      }));
    });
    src.addEventListener('reset', live(function (ev) {
      track(ev);
      var info = parse(ev.data);
      if (!info || typeof info !== 'object') info = { reason: String(info) };
      info.id = ev.lastEventId;
      onReset(info);
    }));
    // The marker after a state: the events before it were every key's latest;
    // its id is the position the stream goes on from.
    src.addEventListener('state', live(function (ev) {
      track(ev);
      var info = parse(ev.data);
      if (!info || typeof info !== 'object') info = { keys: 0 };
      info.id = ev.lastEventId;
      onState(info);
    }));
    // The gateway drains: the stream ends and EventSource reconnects after `retry`.
    src.addEventListener('shutdown', live(function () { setStatus('reconnecting'); }));
    src.addEventListener('token-expired', live(function () {
      src.close();
      es = null;
      setStatus('reconnecting');
      var now = Date.now();
      // Expiring again within 10 s means the refresh did not help: back off
      // (1 s, 2 s, … 30 s) rather than hammering the gateway and the auth server.
      backoff = now - lastExpiry < 10000 ? Math.min(Math.max(backoff * 2, 1000), MAX_DELAY) : 0;
      lastExpiry = now;
      Promise.resolve()
        .then(function () { return opts.onTokenExpired && opts.onTokenExpired(); })
        .then(function () {
          if (!stopped && !es) schedule(jittered(backoff, jitter)); // unless close()/reconnect() ran meanwhile
        }, function (err) {
          if (globalThis.console) globalThis.console.warn('SSEGate: token refresh failed', err);
          if (!stopped && !es) setStatus('closed');
        });
    }));
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(open, ms);
  }

  function shut() {
    clearTimeout(timer);
    if (es) es.close();
    es = null;
  }

  /** Stops for good: no reconnection, status 'closed'. */
  handle.close = function () {
    shut();
    stopped = true;
    setStatus('closed');
  };
  /** Opens a fresh stream now, resuming after handle.lastEventId. */
  handle.reconnect = function () {
    shut();
    stopped = false;
    setStatus('reconnecting');
    open();
  };

  open();
  return handle;
}

/** The client library: SSEGate.connect(options) → {close(), reconnect(), lastEventId, status}. */
var SSEGate = { connect: connect, version: '1.2.0' };

// ---- ES module exports: the classic-script build (embed.go) stops at this line ----
export { SSEGate, connect };
export default SSEGate;
