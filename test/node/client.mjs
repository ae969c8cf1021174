// An SSE client for node_test.go: opens one EventSource per URL with the npm
// package named by the first argument and prints one JSON line per thing it
// sees on stdout: {"stream": i, "kind": "open" | "message" | "reset" |
// "error", "id": lastEventId, "data": ...}. It closes every stream and exits
// when stdin ends, so the test ends it by closing the pipe.
//
//   node client.mjs <package> <url> [<url> ...]
const [pkg, ...urls] = process.argv.slice(2);
const mod = await import(pkg);
// eventsource 5 exports {EventSource}; eventsource 2 is CommonJS and
// exports the constructor itself.
const EventSource = mod.EventSource || mod.default;

const print = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const sources = urls.map((url, stream) => {
  const es = new EventSource(url);
  es.onopen = () => print({ stream, kind: 'open' });
  es.onerror = (e) => print({ stream, kind: 'error', data: String((e && (e.message || e.status)) || '') });
  for (const kind of ['message', 'reset']) {
    es.addEventListener(kind, (ev) => print({ stream, kind, id: ev.lastEventId, data: ev.data }));
  }
  return es;
});

process.stdin.resume();
process.stdin.on('end', () => {
  sources.forEach((es) => es.close());
  process.exit(0);
});
