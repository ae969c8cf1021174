// The gateway's status page: one EventSource on status/stream, each
// "status" event a whole status document (internal/status.Report) that
// replaces what the page shows. Text goes in with textContent only.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const token = new URLSearchParams(location.search).get('token') || '';
  const url = 'status/stream' + (token ? '?token=' + encodeURIComponent(token) : '');

  function cell(row, text, cls) {
    const td = row.insertCell();
    td.textContent = String(text);
    if (cls) td.className = cls;
    return td;
  }

  function fill(tableId, items, cells) {
    const body = $(tableId).tBodies[0];
    const rows = document.createDocumentFragment();
    for (const it of items) {
      const tr = document.createElement('tr');
      cells(tr, it);
      rows.appendChild(tr);
    }
    body.replaceChildren(rows);
  }

  function counts(m) {
    const parts = Object.keys(m || {}).sort().map((k) => k + ' ' + m[k]);
    return parts.length ? parts.join(', ') : '–';
  }

  function duration(s) {
    s = Math.floor(s);
    const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    return (d ? d + 'd ' : '') + (d || h ? h + 'h ' : '') + m + 'm ' + (s % 60) + 's';
  }

  function render(r) {
    $('service').textContent = r.service;
    $('version').textContent = r.version + (r.commit && r.commit !== 'none' ? ' (' + r.commit + ')' : '');
    $('uptime').textContent = duration(r.uptime_seconds);
    $('connections').textContent = r.connections;
    $('topic-count').textContent = r.topics.length;
    $('evictions').textContent = counts(r.evictions);
    $('resets').textContent = counts(r.resets);
    $('rate-window').textContent = 'rates over ' + r.rate_window_seconds + ' s';
    fill('topics', r.topics, (tr, t) => {
      tr.dataset.topic = t.topic;
      cell(tr, t.topic, 'topic');
      cell(tr, t.subscribers, 'subscribers');
      cell(tr, t.events_total, 'events');
      cell(tr, t.rate_per_second.toFixed(2), 'rate');
      cell(tr, t.position || '–', 'position');
    });
    const b = r.broker;
    $('broker-kind').textContent = b.kind + (b.mode ? ' · ' + b.mode : '');
    $('broker-health').textContent = (b.healthy ? 'subscription healthy' : 'subscription DOWN') + (b.fault ? ' — ' + b.fault : '');
    fill('shards', b.shards, (tr, s) => {
      tr.dataset.state = s.state;
      cell(tr, s.address);
      cell(tr, s.state, 'state');
      cell(tr, s.since ? new Date(s.since).toLocaleString() : '–');
      cell(tr, s.topics);
    });
    fill('settings', r.settings, (tr, s) => {
      cell(tr, s.name);
      cell(tr, '-' + s.flag);
      cell(tr, s.value === '' ? '""' : s.value, s.secret ? 'secret' : '');
    });
  }

  function state(s) {
    document.body.dataset.state = s;
    $('state').textContent = s;
  }

  const es = new EventSource(url);
  es.addEventListener('open', () => state('live'));
  es.addEventListener('error', () => state(es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'));
  es.addEventListener('status', (e) => {
    state('live');
    render(JSON.parse(e.data));
  });
})();
