// Load client for the benches: many cheap viewers speaking Engine.IO v4 / Socket.IO v5
// over a raw websocket (wsclient.js), driven by JSON commands on stdin.
//
// Every bench payload carries its send time as the text `bt=<ms since the epoch>`, so the
// client never parses JSON: it counts `bt=` markers in each text frame (one per delivered
// event, whether the server sends one frame per event or a `tick` batch of many), and a
// sample of viewers (every `sampleEvery`-th) also reads the numbers to record latency.
//
// Commands (one JSON object a line; each answered by one JSON line on stdout):
//   {"cmd": "connect", "n", "url", "showId", "tokenUrl"?, "offset"?}  viewers connect and join
//   {"cmd": "reset"}     zero the delivery counters and latency histogram (window start)
//   {"cmd": "report"}    counters since the last reset, latency percentiles
//   {"cmd": "chat", "rate", "seconds", "senders"}  viewers send `chat` at that total rate
//   {"cmd": "close"}     disconnect every viewer
//   {"cmd": "quit"}
'use strict';

const http = require('http');
const readline = require('readline');
const { performance } = require('perf_hooks');
const { RawWebSocket } = require('./wsclient');

const NS = '/live';
const MARK = 'bt=';
const JOIN_ACK = 1;
const nowMs = () => performance.timeOrigin + performance.now();
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

const opts = {
  sampleEvery: Number(process.env.BENCH_SAMPLE_EVERY || 10),
  deflate: process.env.BENCH_CLIENT_DEFLATE !== '0',
  concurrency: Number(process.env.BENCH_CONNECT_CONCURRENCY || 50),
};

// Latency histogram: 0.1 ms buckets below 1 s, 1 ms buckets up to 300 s.
const FINE = 10000;
const hist = new Uint32Array(FINE + 300000);
function record(ms) {
  const v = ms < 0 ? 0 : ms;
  const i = v < 1000 ? Math.floor(v * 10) : Math.min(hist.length - 1, FINE + Math.floor(v - 1000));
  hist[i] += 1;
}
function bucketMs(i) {
  return i < FINE ? (i + 0.5) / 10 : 1000 + (i - FINE) + 0.5;
}
function percentiles(qs) {
  let total = 0;
  for (let i = 0; i < hist.length; i++) total += hist[i];
  const out = { samples: total };
  if (!total) return out;
  let want = qs.map((q) => Math.max(1, Math.ceil(q * total)));
  let seen = 0;
  let k = 0;
  let max = 0;
  for (let i = 0; i < hist.length; i++) {
    if (!hist[i]) continue;
    seen += hist[i];
    max = i;
    while (k < want.length && seen >= want[k]) {
      out['p' + String(qs[k] * 100).replace('.', '_')] = Math.round(bucketMs(i) * 10) / 10;
      k += 1;
    }
  }
  out.max = Math.round(bucketMs(max) * 10) / 10;
  return out;
}

const stats = {
  since: nowMs(), deliveries: 0, frames: 0, bytes: 0,
  chatSent: 0, chatAcked: 0, chatRejected: 0, rejectCodes: {}, ackLatency: [],
};
function resetStats() {
  hist.fill(0);
  Object.assign(stats, {
    since: nowMs(), deliveries: 0, frames: 0, bytes: 0,
    chatSent: 0, chatAcked: 0, chatRejected: 0, rejectCodes: {}, ackLatency: [],
  });
}

const viewers = [];
let closedUnexpectedly = 0;
let totalDeliveries = 0; // since the viewers connected; not cleared by reset

function addressOf(index) {
  return '127.1.' + (Math.floor(index / 250) % 250) + '.' + ((index % 250) + 1);
}

class Viewer {
  constructor(index, sampled) {
    this.index = index;
    this.sampled = sampled;
    this.ws = null;
    this.nextAck = JOIN_ACK + 1;
    this.pending = new Map(); // ack id -> send time (chat)
    this.closing = false;
  }

  open(url, token, showId) {
    return new Promise((resolve, reject) => {
      let joined = false;
      const fail = (why) => {
        if (!joined) {
          joined = true;
          clearTimeout(timer);
          reject(new Error('viewer ' + this.index + ': ' + why));
        }
      };
      const timer = setTimeout(() => fail('join timed out'), 30000);
      const handshake = (s) => {
        if (s.charCodeAt(0) === 48 /* '0' open */) {
          const auth = token ? JSON.stringify({ token }) : '';
          this.ws.sendText('40' + NS + ',' + auth);
        } else if (s.startsWith('40' + NS)) {
          this.ws.sendText('42' + NS + ',' + JOIN_ACK + JSON.stringify(['join', { show_id: showId }]));
        } else if (s.startsWith('44' + NS)) {
          fail('connect refused: ' + s.slice(0, 200));
        } else if (s.startsWith('43' + NS + ',' + JOIN_ACK + '[')) {
          if (s.includes('"ok":false') || s.includes('"ok": false')) return fail('join refused: ' + s.slice(0, 200));
          joined = true;
          clearTimeout(timer);
          resolve();
        } else if (s === '2') {
          this.ws.sendText('3');
        }
        // Anything else before the join ack (a state snapshot, a tick) is not counted.
      };
      const wsUrl = url.replace(/^http/, 'ws') + '/socket.io/?EIO=4&transport=websocket';
      // Each viewer from its own loopback address, as viewers on the internet would be
      // (per-address limits then apply per viewer, not to the whole crowd).
      this.ws = new RawWebSocket(wsUrl, {
        localAddress: addressOf(this.index),
        deflate: opts.deflate,
        handlers: {
          open: () => {},
          text: (buf, start, end) => (joined ? this.onFrame(buf, start, end)
            : handshake(buf.toString('utf8', start, end))),
          close: (why) => {
            if (!this.closing && joined) closedUnexpectedly += 1;
            fail(why);
          },
        },
      });
    });
  }

  onFrame(buf, start, end) {
    const c = buf[start];
    const len = end - start;
    if (c === 50 /* '2' */ && len === 1) {
      this.ws.sendText('3');
      return;
    }
    if (c === 52 && buf[start + 1] === 51 /* '43' ack */) {
      this.onAck(buf.toString('utf8', start, end));
      return;
    }
    stats.frames += 1;
    stats.bytes += len;
    const view = buf.subarray(start, end);
    let i = view.indexOf(MARK);
    if (i < 0) return;
    const now = this.sampled ? nowMs() : 0;
    while (i >= 0) {
      stats.deliveries += 1;
      totalDeliveries += 1;
      if (this.sampled) record(now - parseFloat(view.toString('latin1', i + 3, Math.min(len, i + 27))));
      i = view.indexOf(MARK, i + 3);
    }
  }

  onAck(s) {
    // 43/live,<id>[{...}]
    const start = NS.length + 3;
    const bracket = s.indexOf('[', start);
    const id = Number(s.slice(start, bracket));
    const sentAt = this.pending.get(id);
    if (sentAt === undefined) return;
    this.pending.delete(id);
    if (s.includes('"ok":false') || s.includes('"ok": false')) {
      stats.chatRejected += 1;
      const m = /"error":\s*"([^"]+)"/.exec(s);
      const code = m ? m[1] : 'unknown';
      stats.rejectCodes[code] = (stats.rejectCodes[code] || 0) + 1;
    } else {
      stats.chatAcked += 1;
    }
    if (stats.ackLatency.length < 20000) stats.ackLatency.push(nowMs() - sentAt);
  }

  chat(showId, seq) {
    const id = this.nextAck++;
    const sent = nowMs();
    this.pending.set(id, sent);
    const body = { show_id: showId, text: MARK + sent.toFixed(3) + ' q' + seq, nonce: 'b' + seq };
    this.ws.sendText('42' + NS + ',' + id + JSON.stringify(['chat', body]));
  }

  close() {
    this.closing = true;
    if (this.ws) this.ws.terminate();
  }
}

function guestToken(tokenUrl, index) {
  const body = JSON.stringify({ nickname: 'viewer' + index });
  return new Promise((resolve, reject) => {
    const req = http.request(tokenUrl, {
      method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => {
        if (res.statusCode >= 300) return reject(new Error('guest token: HTTP ' + res.statusCode + ' ' + data.slice(0, 200)));
        try {
          const parsed = JSON.parse(data);
          resolve(parsed.token || parsed.access_token);
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function connect(cmd) {
  const start = nowMs();
  const offset = cmd.offset || 0;
  const created = [];
  for (let i = 0; i < cmd.n; i++) {
    const index = offset + viewers.length + i;
    created.push(new Viewer(index, index % opts.sampleEvery === 0));
  }
  let next = 0;
  const worker = async () => {
    while (next < created.length) {
      const v = created[next++];
      const token = cmd.tokenUrl ? await guestToken(cmd.tokenUrl, v.index) : cmd.token;
      await v.open(cmd.url, token, cmd.showId);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, created.length) }, worker));
  viewers.push(...created);
  return { done: 'connect', viewers: viewers.length, ms: Math.round(nowMs() - start) };
}

function chat(cmd) {
  return new Promise((resolve) => {
    const senders = viewers.slice(0, Math.min(cmd.senders || viewers.length, viewers.length));
    if (!senders.length) throw new Error('chat: no viewers connected');
    const total = Math.round(cmd.rate * cmd.seconds);
    const start = performance.now();
    let sent = 0;
    const step = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * cmd.rate));
      while (sent < due) {
        senders[sent % senders.length].chat(cmd.showId, sent);
        sent += 1;
        stats.chatSent += 1;
      }
      if (sent < total) setTimeout(step, 2);
      else resolve({ done: 'chat', sent, ms: Math.round(performance.now() - start) });
    };
    step();
  });
}

function report() {
  const now = nowMs();
  const acks = stats.ackLatency.slice().sort((a, b) => a - b);
  const q = (p) => (acks.length ? Math.round(acks[Math.min(acks.length - 1, Math.floor(p * acks.length))] * 10) / 10 : null);
  return {
    done: 'report',
    seconds: (now - stats.since) / 1000,
    deliveries: stats.deliveries,
    total_deliveries: totalDeliveries,
    frames: stats.frames,
    bytes: stats.bytes,
    latency: percentiles([0.5, 0.9, 0.99]),
    chat: {
      sent: stats.chatSent, acked: stats.chatAcked, rejected: stats.chatRejected,
      reject_codes: stats.rejectCodes, ack_p50: q(0.5), ack_p99: q(0.99),
    },
    viewers: viewers.length,
    deflate: viewers.filter((v) => v.ws && v.ws.deflate).length,
    closed_unexpectedly: closedUnexpectedly,
    cpu: process.cpuUsage(),
  };
}

function reply(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

const commands = readline.createInterface({ input: process.stdin });
commands.on('line', async (line) => {
  if (!line.trim()) return;
  const cmd = JSON.parse(line);
  try {
    if (cmd.cmd === 'connect') reply(await connect(cmd));
    else if (cmd.cmd === 'reset') {
      resetStats();
      reply({ done: 'reset' });
    } else if (cmd.cmd === 'report') reply(report());
    else if (cmd.cmd === 'chat') reply(await chat(cmd));
    else if (cmd.cmd === 'close') {
      for (const v of viewers) v.close();
      viewers.length = 0;
      closedUnexpectedly = 0;
      totalDeliveries = 0;
      reply({ done: 'close' });
    } else if (cmd.cmd === 'quit') process.exit(0);
    else reply({ error: 'unknown command ' + cmd.cmd });
  } catch (err) {
    reply({ error: String(err && err.message ? err.message : err) });
  }
});
commands.on('close', () => process.exit(0));
reply({ ready: true, pid: process.pid });
