// A minimal websocket client for the load generator: one TCP socket, a hand-written frame
// parser, text frames handed over as byte ranges of the received buffer (no string, no
// copy, no event emitter per frame), so a thousand of them stay cheap on a shared CPU.
//
// It offers permessage-deflate the way browsers do; a server that accepts gets it (then
// compressed messages are inflated per connection, in order). RFC 6455 client rules:
// every frame sent is masked.
'use strict';

const crypto = require('crypto');
const net = require('net');
const zlib = require('zlib');

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const OP_CONT = 0x0;
const OP_TEXT = 0x1;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

class RawWebSocket {
  // handlers: { open(), text(buf, start, end), close(reason) }
  constructor(url, { localAddress, deflate = true, handlers }) {
    const u = new URL(url);
    this.handlers = handlers;
    this.deflate = false; // negotiated
    this.inflater = null;
    this.inflating = []; // compressed messages waiting their turn
    this.pending = null; // bytes of an incomplete frame
    this.fragments = null; // a fragmented message being assembled
    this.fragmentCompressed = false;
    this.open = false;
    this.closed = false;
    this.headers = '';
    const key = crypto.randomBytes(16).toString('base64');
    const path = u.pathname + u.search;
    this.sock = net.connect({ host: u.hostname, port: Number(u.port), localAddress });
    this.sock.setNoDelay(true);
    this.sock.on('connect', () => {
      this.sock.write(
        `GET ${path} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
        (deflate ? 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n' : '') +
        '\r\n');
    });
    this.sock.on('data', (chunk) => (this.open ? this.onData(chunk) : this.onHandshake(chunk)));
    this.sock.on('error', (err) => this.finish(err.message));
    this.sock.on('close', () => this.finish('closed'));
  }

  onHandshake(chunk) {
    this.headers += chunk.toString('latin1');
    const end = this.headers.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.headers.slice(0, end);
    if (!/^HTTP\/1\.1 101/.test(head)) {
      this.finish('handshake refused: ' + head.split('\r\n')[0]);
      this.sock.destroy();
      return;
    }
    this.deflate = /sec-websocket-extensions:[^\r]*permessage-deflate/i.test(head);
    this.open = true;
    const rest = Buffer.from(this.headers.slice(end + 4), 'latin1');
    this.headers = '';
    this.handlers.open();
    if (rest.length) this.onData(rest);
  }

  onData(chunk) {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    const len = buf.length;
    let off = 0;
    while (len - off >= 2) {
      const b0 = buf[off];
      let plen = buf[off + 1] & 0x7f;
      let head = 2;
      if (plen === 126) {
        if (len - off < 4) break;
        plen = buf.readUInt16BE(off + 2);
        head = 4;
      } else if (plen === 127) {
        if (len - off < 10) break;
        plen = Number(buf.readBigUInt64BE(off + 2));
        head = 10;
      }
      if (len - off < head + plen) break;
      this.onFrame(b0, buf, off + head, off + head + plen);
      off += head + plen;
      if (this.closed) return;
    }
    if (off < len) this.pending = off ? buf.subarray(off) : buf;
  }

  onFrame(b0, buf, start, end) {
    const fin = (b0 & 0x80) !== 0;
    const compressed = (b0 & 0x40) !== 0;
    const opcode = b0 & 0x0f;
    if (opcode === OP_TEXT || opcode === OP_CONT) {
      if (!fin || this.fragments) {
        if (opcode === OP_TEXT) {
          this.fragments = [];
          this.fragmentCompressed = compressed;
        }
        this.fragments.push(Buffer.from(buf.subarray(start, end)));
        if (!fin) return;
        const whole = Buffer.concat(this.fragments);
        const wasCompressed = this.fragmentCompressed;
        this.fragments = null;
        return this.message(whole, 0, whole.length, wasCompressed);
      }
      return this.message(buf, start, end, compressed);
    }
    if (opcode === OP_PING) this.sendFrame(OP_PONG, buf.subarray(start, end));
    else if (opcode === OP_CLOSE) {
      this.sock.destroy();
      this.finish('closed by server');
    }
  }

  message(buf, start, end, compressed) {
    if (!compressed) {
      if (!this.inflating.length) return this.handlers.text(buf, start, end);
      // Keep order behind compressed messages still inflating.
      return this.queueInflate(Buffer.from(buf.subarray(start, end)), false);
    }
    this.queueInflate(Buffer.concat([buf.subarray(start, end), TAIL]), true);
  }

  queueInflate(data, compressed) {
    this.inflating.push({ data, compressed });
    if (this.inflating.length === 1) this.inflateNext();
  }

  inflateNext() {
    const item = this.inflating[0];
    if (!item || this.closed) return;
    const done = (out) => {
      this.inflating.shift();
      this.handlers.text(out, 0, out.length);
      this.inflateNext();
    };
    if (!item.compressed) return done(item.data);
    if (!this.inflater) {
      this.inflater = zlib.createInflateRaw();
      this.inflated = [];
      this.inflater.on('data', (d) => this.inflated.push(d));
    }
    this.inflater.write(item.data);
    this.inflater.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      const out = Buffer.concat(this.inflated);
      this.inflated = [];
      done(out);
    });
  }

  sendText(text) {
    this.sendFrame(OP_TEXT, Buffer.from(text, 'utf8'));
  }

  sendFrame(opcode, payload) {
    if (this.closed) return;
    const len = payload.length;
    const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
    const frame = Buffer.allocUnsafe(head + 4 + len);
    frame[0] = 0x80 | opcode;
    if (head === 2) frame[1] = 0x80 | len;
    else if (head === 4) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(len, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(len), 2);
    }
    crypto.randomFillSync(frame, head, 4);
    for (let i = 0; i < len; i++) frame[head + 4 + i] = payload[i] ^ frame[head + (i & 3)];
    this.sock.write(frame);
  }

  terminate() {
    this.closed = true;
    this.sock.destroy();
    if (this.inflater) this.inflater.close();
  }

  finish(reason) {
    if (this.closed) return;
    this.closed = true;
    if (this.inflater) this.inflater.close();
    this.handlers.close(reason);
  }
}

module.exports = { RawWebSocket };
