// A scripted EventSource for the behaviour tests: every instance is recorded
// and the test drives it like a server would (open, fail, emit).
export const CONNECTING = 0, OPEN = 1, CLOSED = 2;

export function fakeFactory() {
  const made = [];
  class FakeES {
    constructor(url, init) {
      this.url = url;
      this.withCredentials = !!(init && init.withCredentials);
      this.readyState = CONNECTING;
      this.lastEventId = '';
      this.listeners = {};
      this.closed = false;
      made.push(this);
    }
    addEventListener(name, fn) { (this.listeners[name] = this.listeners[name] || []).push(fn); }
    close() { this.closed = true; this.readyState = CLOSED; }
    open() { this.readyState = OPEN; this.onopen && this.onopen({}); }
    fail(final) { this.readyState = final ? CLOSED : CONNECTING; this.onerror && this.onerror({}); }
    emit(name, data, id) {
      if (id !== undefined) this.lastEventId = id;
      (this.listeners[name] || []).forEach((fn) => fn({ data, lastEventId: this.lastEventId }));
    }
  }
  return { FakeES, made };
}
