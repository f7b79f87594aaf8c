// ONAIR's own Socket.IO client (Engine.IO v4 / Socket.IO v5, websocket only), as an ES module.
//
//   import { connect } from "/static/js/socket.js";
//   const s = connect("/live", { auth: { token } });   // "/console" uses the session cookie
//   s.on("state", (state) => ...);     // the join snapshot; again after every re-join
//   s.on("pinned", (p) => ...);        // any event, whether sent alone or inside a tick
//   s.on("chat", (m) => ...);          // tick entries arrive one by one, in order
//   s.on("viewers", (n) => ...);       // tick fields too: viewers, hearts, stock, ...
//   s.on("status", (st) => ...);       // "connecting" | "connected" | "reconnecting" | "closed"
//   const ack = await s.join(7);       // rejects with err.code on an error ack
//   const res = await s.emit("heart", { count: 3 });   // resolves with the ack
//   s.close();
//
// Acks: emit() resolves with the server's ack, or with {ok: false, error: "timeout"} after
// `ackTimeout` ms, or {ok: false, error: "offline"} while disconnected. It never rejects.
// Reconnect: exponential backoff with jitter (0.5 s doubling up to 10 s). After a reconnect
// the joined show is joined again with `after` = the floor (every id at or below it was seen
// or folded into "state"); the ack's `missed` entries are dispatched. An event whose id is at
// or below the floor, or was already seen above it, is dropped, so page code sees every event
// once even when two nodes' events arrive out of id order. A `reset` ack means the gap was
// too old: "state" is then the whole truth (a "reset" event fires first).
// Other events: "connect", "disconnect" (reason), "connect_error" (err with .code).

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10000;
const PERMANENT = /^(token_|login_required|staff_only|permission_denied)/;
// Ids are µs timestamps. Events published at once on two nodes may arrive out of id order,
// never more than this far apart; older than newest - SLACK_US, an unseen id cannot come.
export const SLACK_US = 5_000_000;

export function connect(namespace = "/", options = {}) {
  return new Socket(namespace, options);
}

export class Socket {
  constructor(namespace, options) {
    this.namespace = namespace;
    this.options = options;
    this.ackTimeout = options.ackTimeout ?? 10000;
    this.connected = false;
    this.closed = false;
    this.showId = null;
    this.lastId = null; // the newest event id seen
    this.floor = null; // every id <= floor was seen (or is in "state")
    this._seen = new Set(); // ids above the floor that were seen
    this._firstId = null; // the oldest id seen since the join
    this._handlers = new Map();
    this._acks = new Map();
    this._nextAck = 1;
    this._attempt = 0;
    this._ws = null;
    this._pingTimer = null;
    this._retryTimer = null;
    this._waiters = [];
    this._open();
  }

  on(event, fn) {
    if (!this._handlers.has(event)) this._handlers.set(event, new Set());
    this._handlers.get(event).add(fn);
    return () => this.off(event, fn);
  }

  off(event, fn) {
    const set = this._handlers.get(event);
    if (set) set.delete(fn);
  }

  emit(event, data) {
    if (!this.connected) return Promise.resolve({ ok: false, error: "offline" });
    return new Promise((resolve) => {
      const id = this._nextAck++;
      const timer = setTimeout(() => {
        this._acks.delete(id);
        resolve({ ok: false, error: "timeout" });
      }, this.ackTimeout);
      this._acks.set(id, (args) => {
        clearTimeout(timer);
        resolve(args[0]);
      });
      const body = data === undefined ? [event] : [event, data];
      this._send(`42${this._nsPrefix()}${id}${JSON.stringify(body)}`);
    });
  }

  async join(showId) {
    if (this.showId !== showId) this._forget();
    this.showId = showId;
    await this._whenConnected();
    return this._join();
  }

  async leave() {
    this.showId = null;
    this._forget();
    return this.emit("leave", {});
  }

  _forget() {
    this.lastId = null;
    this._firstId = null;
    this.floor = null;
    this._seen = new Set();
  }

  close() {
    this.closed = true;
    clearTimeout(this._retryTimer);
    this._teardown("io client disconnect");
    this._status("closed");
    this._failWaiters(Object.assign(new Error("closed"), { code: "closed" }));
  }

  // --- connection -------------------------------------------------------------------

  _url() {
    const base = this.options.url || window.location.origin;
    const url = new URL("/socket.io/", base);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.search = "?EIO=4&transport=websocket";
    return url.toString();
  }

  _nsPrefix() {
    return this.namespace === "/" ? "" : `${this.namespace},`;
  }

  _open() {
    this._status(this._attempt ? "reconnecting" : "connecting");
    const ws = new WebSocket(this._url());
    this._ws = ws;
    ws.onmessage = (msg) => this._onEngine(String(msg.data));
    ws.onclose = () => {
      if (this._ws === ws) this._lost("transport close");
    };
    ws.onerror = () => {};
  }

  _lost(reason) {
    const was = this.connected;
    this._teardown(reason);
    if (was) this._dispatch("disconnect", reason);
    if (!this.closed) this._retry();
  }

  _teardown(reason) {
    clearTimeout(this._pingTimer);
    const ws = this._ws;
    this._ws = null;
    this.connected = false;
    if (ws) {
      ws.onmessage = ws.onclose = null;
      try {
        ws.close();
      } catch {
        // already closing
      }
    }
    for (const [id, done] of this._acks) {
      this._acks.delete(id);
      done([{ ok: false, error: "offline", detail: reason }]);
    }
  }

  _retry() {
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this._attempt);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this._attempt += 1;
    this._status("reconnecting");
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(() => this._open(), delay);
  }

  _send(text) {
    if (this._ws && this._ws.readyState === 1) this._ws.send(text);
  }

  _armPing() {
    // The server pings every pingInterval; silence past pingInterval + pingTimeout is death.
    clearTimeout(this._pingTimer);
    const wait = (this._pingInterval || 25000) + (this._pingTimeout || 20000);
    this._pingTimer = setTimeout(() => this._lost("ping timeout"), wait);
  }

  _onEngine(text) {
    const type = text[0];
    if (type === "0") {
      const open = JSON.parse(text.slice(1));
      this._pingInterval = open.pingInterval;
      this._pingTimeout = open.pingTimeout;
      this._armPing();
      const auth = typeof this.options.auth === "function" ? this.options.auth() : this.options.auth;
      this._send(`40${this._nsPrefix()}${auth ? JSON.stringify(auth) : ""}`);
    } else if (type === "2") {
      this._armPing();
      this._send("3");
    } else if (type === "1") {
      this._lost("transport close");
    } else if (type === "4") {
      this._onPacket(text.slice(1));
    }
  }

  _onPacket(text) {
    const type = text[0];
    let rest = text.slice(1);
    let ns = "/";
    if (rest.startsWith("/")) {
      const comma = rest.indexOf(",");
      ns = comma < 0 ? rest : rest.slice(0, comma);
      rest = comma < 0 ? "" : rest.slice(comma + 1);
    }
    if (ns !== this.namespace) return;
    const digits = /^\d+/.exec(rest);
    const id = digits ? Number(digits[0]) : null;
    if (digits) rest = rest.slice(digits[0].length);
    const data = rest ? JSON.parse(rest) : undefined;
    if (type === "0") {
      this.connected = true;
      this._attempt = 0;
      this._status("connected");
      this._dispatch("connect");
      // A join() waiting for this connection joins by itself; otherwise resume the show.
      const joining = this._waiters.length > 0;
      this._flushWaiters();
      if (this.showId !== null && !joining) this._rejoin();
    } else if (type === "4") {
      const err = Object.assign(new Error((data && data.message) || "connect_error"), {
        code: (data && data.data && data.data.code) || (data && data.message),
        data: data && data.data,
      });
      this._dispatch("connect_error", err);
      if (PERMANENT.test(String(err.code))) {
        this._failWaiters(err);
        this.close();
      } else {
        this._lost("connect_error");
      }
    } else if (type === "1") {
      this._lost("io server disconnect");
    } else if (type === "2" && Array.isArray(data)) {
      this._onEvent(data[0], data.slice(1));
    } else if (type === "3" && id !== null) {
      const done = this._acks.get(id);
      this._acks.delete(id);
      if (done) done(data || []);
    }
  }

  // --- events -----------------------------------------------------------------------

  _onEvent(name, args) {
    if (name === "tick") {
      this._onTick(args[0] || {});
    } else {
      this._deliver(name, args);
    }
  }

  _onTick(tick) {
    for (const entry of tick.events || []) this._deliver(entry[0], [entry[1]]);
    for (const key of Object.keys(tick)) {
      if (key !== "events") this._dispatch(key, tick[key]);
    }
  }

  _deliver(name, args) {
    const payload = args[0];
    const id = payload && typeof payload.id === "number" ? payload.id : null;
    if (id !== null) {
      if ((this.floor !== null && id <= this.floor) || this._seen.has(id)) return; // seen
      this._seen.add(id);
      if (this.lastId === null || id > this.lastId) this.lastId = id;
      if (this._firstId === null || id < this._firstId) this._firstId = id;
      if (this._seen.size > 1024) this._raiseFloor(this.lastId - SLACK_US);
    }
    this._dispatch(name, ...args);
  }

  _raiseFloor(floor) {
    if (this.floor !== null && floor <= this.floor) return;
    this.floor = floor;
    for (const id of this._seen) if (id <= floor) this._seen.delete(id);
  }

  _dispatch(event, ...args) {
    const set = this._handlers.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(...args);
      } catch (err) {
        console.error(`socket handler for ${event} failed`, err);
      }
    }
  }

  _status(status) {
    this.status = status;
    this._dispatch("status", status);
  }

  // --- joining and resuming -----------------------------------------------------------

  async _join() {
    const body = { show_id: this.showId };
    if (this.lastId !== null) {
      // Nothing older than newest - SLACK_US can still arrive. With no floor yet (the log
      // was empty when this show was joined), nothing older than the first id seen exists.
      let floor = this.lastId - SLACK_US;
      if (this.floor === null) floor = Math.max(floor, this._firstId - 1);
      this._raiseFloor(floor);
    }
    if (this.floor !== null) body.after = Math.max(0, this.floor);
    const ack = await this.emit("join", body);
    if (!ack || !ack.ok) {
      throw Object.assign(new Error((ack && ack.error) || "join_failed"), {
        code: ack && ack.error,
        ack,
      });
    }
    if (ack.reset) this._dispatch("reset");
    this._dispatch("state", ack.state || {});
    for (const [name, payload] of ack.missed || []) this._deliver(name, [payload]);
    if (typeof ack.cursor === "number") {
      // Everything up to the cursor is in "state" or was in `missed`.
      this._raiseFloor(ack.cursor);
      if (this.lastId === null || ack.cursor > this.lastId) this.lastId = ack.cursor;
    }
    return ack;
  }

  _rejoin() {
    this._join().catch((err) => this._dispatch("join_error", err));
  }

  _whenConnected() {
    if (this.connected) return Promise.resolve();
    if (this.closed) return Promise.reject(Object.assign(new Error("closed"), { code: "closed" }));
    return new Promise((resolve, reject) => this._waiters.push({ resolve, reject }));
  }

  _flushWaiters() {
    const waiters = this._waiters;
    this._waiters = [];
    for (const w of waiters) w.resolve();
  }

  _failWaiters(err) {
    const waiters = this._waiters;
    this._waiters = [];
    for (const w of waiters) w.reject(err);
  }
}
