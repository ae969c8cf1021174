// Compiled (never run) by `tsc --noEmit -p test/tsconfig.json`: the
// declarations in index.d.ts accept the documented uses, including the
// browser's EventSource, and reject wrong ones.
import SSEGate, { connect, type ConnectOptions, type Status, type Subscription } from '@ssegate/client';

const opts: ConnectOptions = {
  url: 'https://gw.example/api/sse/stream',
  topics: ['spools:updates'],
  withCredentials: true,
  events: ['alarm'],
  onEvent(name: string, data: unknown, id: string) { void name; void data; void id; },
  onReset(info) { const r: string = info.reason; const id: string = info.id; void r; void id; },
  onStatus(s: Status) { void s; },
  state: true,
  onState(info) { const k: number = info.keys; const p: string = info.position; void k; void p; },
  onTokenExpired: () => fetch('/auth/refresh', { method: 'POST' }),
  lastEventId: '1-0',
  lastEventIdParam: 'last_event_id',
  EventSource: EventSource,
  retryRefused: false,
  refusedRetryMs: 500,
  retryJitter: 0.2,
};
const sub: Subscription = connect(opts);
const same: Subscription = SSEGate.connect({ topics: ['a'] });
const status: Status | '' = sub.status;
const last: string = sub.lastEventId;
const version: string = SSEGate.version;
sub.reconnect();
sub.close();
void same; void status; void last; void version;

// @ts-expect-error state is a boolean
connect({ state: 1 });
// @ts-expect-error topics is a list
connect({ topics: 'spools:updates' });
// @ts-expect-error no such status
const bad: Status = 'done';
// @ts-expect-error lastEventId is read-only
sub.lastEventId = 'x';
void bad;
