// TypeScript declarations for @ssegate/client (src/ssegate.js).

/** The connection state reported to onStatus and kept in Subscription.status. */
export type Status = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** What `event: reset` carries: the position was lost, so reload the state. */
export interface ResetInfo {
  /** Why, e.g. 'trimmed', 'malformed_id', 'unknown_stream'. */
  reason: string;
  /** The topics whose position was lost. */
  topics?: string[];
  /** The id of the reset event: the position to go on from. */
  id: string;
  [key: string]: unknown;
}

/** What `event: state` carries: the state before it is complete (README "Initial state"). */
export interface StateInfo {
  /** The stream's position after the state (composite `a_b` on a multi-topic stream). */
  position: string;
  /** Keys sent, all topics together. */
  keys: number;
  /** Per topic: its position and keys. */
  topics?: { topic: string; position: string; keys: number }[];
  /** The id of the marker: the position the stream goes on from. */
  id: string;
  [key: string]: unknown;
}

/** The part of an EventSource the library uses (WHATWG HTML §9.2). */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((ev: any) => any) | null;
  onerror: ((ev: any) => any) | null;
  addEventListener(type: string, listener: (ev: { data: string; lastEventId: string }) => void): void;
  close(): void;
}

/** An EventSource constructor: the browser's, Node's `eventsource` package, a polyfill. */
export interface EventSourceConstructor {
  new (url: string, init?: { withCredentials?: boolean }): EventSourceLike;
}

export interface ConnectOptions {
  /** Stream endpoint, may be absolute. Default '/api/sse/stream'. */
  url?: string;
  /** Topics, sent as repeated `topic=` query parameters. */
  topics?: readonly string[];
  /** Send cookies cross-origin (the gateway must allow the origin). */
  withCredentials?: boolean;
  /** Extra `event:` names delivered to onEvent besides 'message'. */
  events?: readonly string[];
  /** A data event: data is parsed JSON, or the raw string when it is not JSON. */
  onEvent?(name: string, data: unknown, id: string): void;
  /** `event: reset`: events since the last id are gone; reload the state. */
  onReset?(info: ResetInfo): void;
  /** true: ask for every key's latest event first (`state=1`); false: decline a default state (`state=0`). */
  state?: boolean;
  /** `event: state`: the state sent before it is complete (also after a reset of a keyed topic). */
  onState?(info: StateInfo): void;
  /** Every change of the connection state. */
  onStatus?(status: Status): void;
  /** `event: token-expired`: refresh the auth cookie; a rejected Promise ends in 'closed'. */
  onTokenExpired?(): unknown;
  /** Position to resume from on the first connection (sent as a query parameter). */
  lastEventId?: string;
  /** Query parameter for that position. Default 'lastEventId'. */
  lastEventIdParam?: string;
  /** EventSource constructor to use. Default globalThis.EventSource. */
  EventSource?: EventSourceConstructor;
  /** Reopen after a refused connection (non-200). Default true. */
  retryRefused?: boolean;
  /** First delay of that retry in ms; doubles up to 30 s. Default 1000. */
  refusedRetryMs?: number;
  /** Fraction of each of the library's own delays that is random, 0…1. Default 0.5. */
  retryJitter?: number;
}

/** An open stream. */
export interface Subscription {
  /** Stops for good: no reconnection, status 'closed'. */
  close(): void;
  /** Opens a fresh stream now, resuming after lastEventId. */
  reconnect(): void;
  /** The id of the last event received (or the lastEventId option). */
  readonly lastEventId: string;
  /** The connection state; '' only before the first connection attempt. */
  readonly status: Status | '';
}

/** Opens a stream. Throws when no EventSource is available. */
export declare function connect(options?: ConnectOptions): Subscription;

/** The library object, also window.SSEGate when loaded as /static/ssegate.js. */
export declare const SSEGate: {
  readonly connect: typeof connect;
  readonly version: string;
};

export default SSEGate;
