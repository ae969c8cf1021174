// Demo page for ssegate: a live spool board fed by the `spools:updates` topic.
//
// Query parameters (all optional):
//   ?topic=<name>        repeatable; default spools:updates
//   ?gateway=<base url>  another gateway, e.g. https://sse.example.com (default: this origin)
//   ?event=<name>        repeatable; extra `event:` names to show besides unnamed events
//   ?credentials=0       do not send cookies cross-origin (withCredentials=false)
//   ?state=0             do not ask for the initial state (the board fills from live events)
//
// The page opens the stream with `state=1`: the gateway sends every spool's latest
// event, then an `event: state` marker, then live events from exactly there. On the
// marker the board is complete; on `event: reset` it is cleared and rebuilt from the
// state that follows the reset (README.md "Initial state").
//
// Test hooks for browser end-to-end tests:
//   window.__ssegate = {events: [{id, type, data}, ...], status, resets, opens,
//                       received, lastEventId, tokenExpired,
//                       complete, stateKeys, states, position}
//   document.body.dataset.status = 'connecting' | 'open' | 'reconnecting' | 'closed'
//   document.body.dataset.board  = 'loading' | 'complete' (| 'live' with ?state=0)
// `complete` is true from a marker until the next reset; `stateKeys` is the last
// marker's key count, `states` counts markers, `position` is the last marker's id.
// `events` holds data events in arrival order (type is the SSE event name, 'message'
// when the frame had no `event:` line; data is the parsed JSON). Control events
// (reset, token-expired, shutdown) are counted, not listed.
//
// If the embedding application defines window.ssegateRefreshToken(), it is called
// (and awaited when it returns a Promise) when the gateway reports `token-expired`:
// it should refresh the auth cookie, after which the page reconnects.
(function () {
  'use strict';

  var LOG_MAX = 50;        // log lines kept on screen
  var EVENTS_MAX = 10000;  // events kept in window.__ssegate.events (oldest dropped)

  var params = new URLSearchParams(window.location.search);
  var topics = params.getAll('topic').filter(Boolean);
  if (!topics.length) topics = ['spools:updates'];
  var gateway = (params.get('gateway') || '').replace(/\/+$/, '');
  var withCredentials = params.get('credentials') !== '0';
  var wantState = params.get('state') !== '0';

  var state = {
    events: [], status: 'connecting', resets: 0, opens: 0,
    received: 0, lastEventId: '', tokenExpired: 0,
    complete: false, stateKeys: 0, states: 0, position: ''
  };
  window.__ssegate = state;

  var $ = function (id) { return document.getElementById(id); };
  var el = {
    board: $('board'), empty: $('board-empty'), log: $('log'), status: $('status'),
    lastId: $('last-id'), reconnect: $('reconnect'), topics: $('topics'),
    events: $('count-events'), spools: $('count-spools'),
    resets: $('count-resets'), opens: $('count-opens'), boardState: $('board-state')
  };
  var rows = new Map(); // tag_spool → {tr, cells}
  var byTag = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  var timeFmt = new Intl.DateTimeFormat(undefined,
    { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  var dateFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

  function make(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text; // never innerHTML: data is untrusted
    return n;
  }

  function when(iso) {
    var d = iso ? new Date(iso) : new Date();
    if (isNaN(d.getTime())) return { text: String(iso), title: String(iso) };
    var text = timeFmt.format(d);
    if (d.toDateString() !== new Date().toDateString()) text = dateFmt.format(d) + ' ' + text;
    return { text: text, title: d.toISOString() };
  }

  function log(kind, label, text, id) {
    var li = make('li', 'log-' + kind);
    var t = when();
    var time = make('time', null, t.text);
    time.dateTime = t.title;
    li.appendChild(time);
    li.appendChild(make('span', 'tag', label));
    li.appendChild(make('span', 'log-text', text));
    if (id) li.appendChild(make('code', 'log-id', id));
    el.log.insertBefore(li, el.log.firstChild);
    while (el.log.childElementCount > LOG_MAX) el.log.removeChild(el.log.lastChild);
  }

  function counters() {
    el.events.textContent = state.received;
    el.spools.textContent = rows.size;
    el.resets.textContent = state.resets;
    el.opens.textContent = state.opens;
    el.lastId.textContent = state.lastEventId || '–';
    el.empty.hidden = rows.size > 0;
    var board = !wantState ? 'live' : state.complete ? 'complete' : 'loading';
    document.body.dataset.board = board;
    el.boardState.dataset.board = board;
    el.boardState.textContent = board === 'complete'
      ? 'complete · ' + state.stateKeys + (state.stateKeys === 1 ? ' spool' : ' spools') + ' in the state · live'
      : board === 'live' ? 'live (no initial state)'
        : state.resets ? 'rebuilding from the state…' : 'loading the state…';
  }

  function isSpool(d) {
    return d !== null && typeof d === 'object' && typeof d.tag_spool === 'string' && d.tag_spool !== '';
  }

  // upsert puts the spool's latest state in its row (rows stay sorted by tag so the
  // board does not jump around) and replays the highlight animation.
  function upsert(d) {
    var row = rows.get(d.tag_spool);
    if (!row) {
      var tr = make('tr');
      var cells = ['tag', 'state', 'worker', 'detail', 'time'].map(function (c) {
        var td = make('td', 'c-' + c);
        td.dataset.label = c;
        tr.appendChild(td);
        return td;
      });
      cells[0].textContent = d.tag_spool;
      cells[1].appendChild(make('span', 'badge'));
      cells[4].appendChild(make('time'));
      row = { tr: tr, cells: cells };
      var next = null;
      rows.forEach(function (r, tag) {
        if (byTag.compare(tag, d.tag_spool) > 0 && (!next || byTag.compare(tag, next.tag) < 0)) {
          next = { tag: tag, tr: r.tr };
        }
      });
      el.board.insertBefore(tr, next ? next.tr : null);
      rows.set(d.tag_spool, row);
    }
    var type = String(d.event_type || '?');
    row.tr.dataset.state = type;
    row.cells[1].firstChild.textContent = type;
    row.cells[2].textContent = d.worker_nombre || '–';
    row.cells[3].textContent = d.estado_detalle || '';
    var t = when(d.timestamp);
    row.cells[4].firstChild.textContent = t.text;
    row.cells[4].firstChild.dateTime = t.title;
    row.tr.classList.remove('flash');
    void row.tr.offsetWidth; // restart the CSS animation
    row.tr.classList.add('flash');
  }

  function summary(d) {
    if (isSpool(d)) {
      return [d.tag_spool, d.worker_nombre, d.estado_detalle].filter(Boolean).join(' · ');
    }
    var s = typeof d === 'string' ? d : JSON.stringify(d);
    return s.length > 140 ? s.slice(0, 139) + '…' : s;
  }

  function onEvent(name, data, id) {
    state.received++;
    state.events.push({ id: id, type: name, data: data });
    if (state.events.length > EVENTS_MAX) state.events.shift();
    if (id) state.lastEventId = id;
    if (isSpool(data)) upsert(data);
    log('event', isSpool(data) ? String(data.event_type || name) : name, summary(data), id);
    counters();
  }

  // onReset clears the board: the state of the reset topics follows, then a marker.
  function onReset(info) {
    state.resets++;
    state.complete = false;
    if (info.id) state.lastEventId = info.id;
    rows.clear();
    el.board.textContent = '';
    var where = Array.isArray(info.topics) && info.topics.length ? ' on ' + info.topics.join(', ') : '';
    log('reset', 'reset', 'position lost (' + (info.reason || 'unknown') + ')' + where +
      ': board cleared, rebuilding from the state that follows', info.id);
    counters();
  }

  // onState is the marker after the state: every spool the gateway knows is on the board.
  function onState(info) {
    state.states++;
    state.complete = true;
    state.stateKeys = typeof info.keys === 'number' ? info.keys : 0;
    state.position = info.id || String(info.position || '');
    if (info.id) state.lastEventId = info.id;
    log('state', 'state', 'board complete: ' + state.stateKeys + ' spools in the state; live from here', info.id);
    counters();
  }

  function onStatus(s) {
    state.status = s;
    document.body.dataset.status = s;
    el.status.textContent = s;
    el.reconnect.hidden = s !== 'closed';
    if (s === 'open') state.opens++;
    log(s === 'open' || s === 'closed' ? s : 'status', 'status', STATUS_TEXT[s] || s);
    counters();
  }

  var STATUS_TEXT = {
    connecting: 'connecting…',
    open: 'open: receiving live events',
    reconnecting: 'reconnecting: the browser resumes after the last event id',
    closed: 'closed: the stream was refused or stopped; EventSource will not retry by itself'
  };

  function onTokenExpired() {
    state.tokenExpired++;
    log('token', 'token', 'token expired: refreshing the cookie, then reconnecting');
    if (typeof window.ssegateRefreshToken === 'function') return window.ssegateRefreshToken();
    return undefined;
  }

  el.topics.textContent = topics.join(', ') + (gateway ? ' @ ' + gateway : '');
  counters();

  if (!window.SSEGate) {
    onStatus('closed');
    log('status', 'error', 'ssegate.js did not load');
    return;
  }
  var client = window.SSEGate.connect({
    url: gateway + '/api/sse/stream',
    topics: topics,
    withCredentials: withCredentials,
    events: params.getAll('event').filter(Boolean),
    onEvent: onEvent,
    state: wantState,
    onReset: onReset,
    onState: onState,
    onStatus: onStatus,
    onTokenExpired: onTokenExpired
  });
  // Not enumerable, so serialising window.__ssegate (e.g. from a test) skips it.
  Object.defineProperty(state, 'client', { value: client, enumerable: false });
  el.reconnect.addEventListener('click', function () { client.reconnect(); });
  // Leaving the page closes the stream; coming back from the back/forward cache reopens it.
  window.addEventListener('pagehide', function () { client.close(); });
  window.addEventListener('pageshow', function (ev) { if (ev.persisted) client.reconnect(); });
})();
