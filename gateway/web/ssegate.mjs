// ES module entry point for ssegate.js (see that file for the documentation).
//
//   import { SSEGate } from '/static/ssegate.mjs';
//   const sub = SSEGate.connect({ topics: ['spools:updates'], onEvent: console.log });
//
// ssegate.js is a classic script so that a plain <script> tag can load it; imported
// for its side effect it defines globalThis.SSEGate, which is re-exported here.
import './ssegate.js';

/** The ssegate client library: SSEGate.connect(options) → {close(), reconnect(), lastEventId, status}. */
export const SSEGate = globalThis.SSEGate;
/** Shorthand for SSEGate.connect. */
export const connect = SSEGate.connect;
export default SSEGate;
