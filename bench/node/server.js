// Reference server for the benches: stock socket.io 4, one emit per event per room.
//
// Speaks the bench control protocol shared with bench/servers/pysio.py and bench/servers/onair.py:
// prints `READY {"port", "pid", "show_id"}` once listening, then reads JSON commands from
// stdin, one a line, and answers each with one JSON line on stdout:
//   {"cmd": "publish", "rate": R, "seconds": S}  -> {"done": "publish", "sent": n}
//   {"cmd": "gc"}                                  -> {"done": "gc", "rss": bytes}
//   {"cmd": "quit"}                                -> exits
// Viewers connect to namespace /live, emit `join {"show_id"}` (acked) and receive `msg`;
// in the chat bench they emit `chat {"text", "nonce"}` and the server re-broadcasts it to
// the room, one emit per message, and acks.
'use strict';

const http = require('http');
const readline = require('readline');
const { performance } = require('perf_hooks');
const { Server } = require('socket.io');

const SHOW_ID = 1;
const ROOM = 'show:' + SHOW_ID;
const port = Number(process.argv[2] || 0);

const httpServer = http.createServer();
// Stock options: the bench measures socket.io as a team would deploy it.
const io = new Server(httpServer, { cors: { origin: '*' } });
const live = io.of('/live');
let chatSeq = 0;

const nowMs = () => performance.timeOrigin + performance.now();

live.on('connection', (socket) => {
  socket.on('join', (data, ack) => {
    const showId = data && Number(data.show_id);
    if (showId !== SHOW_ID) {
      if (typeof ack === 'function') ack({ ok: false, error: 'show_not_found' });
      return;
    }
    socket.join(ROOM);
    socket.data.nick = 'viewer';
    if (typeof ack === 'function') ack({ ok: true });
  });
  socket.on('chat', (data, ack) => {
    const text = data && typeof data.text === 'string' ? data.text.slice(0, 200) : '';
    if (!text || !socket.rooms.has(ROOM)) {
      if (typeof ack === 'function') ack({ ok: false, error: 'invalid' });
      return;
    }
    chatSeq += 1;
    live.to(ROOM).emit('chat', { id: chatSeq, user: socket.id, nickname: socket.data.nick, text });
    if (typeof ack === 'function') ack({ ok: true, id: chatSeq });
  });
});

function payload(n) {
  return { n, nickname: 'host', text: 'bt=' + nowMs().toFixed(3) + ' the bench says hello' };
}

function publish(rate, seconds) {
  // Same pacing as the Python servers: what is due is sent; nothing after the deadline.
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let sent = 0;
  const step = () => {
    const now = performance.now();
    if (now >= deadline) return reply({ done: 'publish', sent });
    const due = Math.floor(((now - start) / 1000) * rate);
    while (sent < due && performance.now() < deadline) {
      sent += 1;
      live.to(ROOM).emit('msg', payload(sent));
    }
    setTimeout(step, 2);
  };
  step();
}

function reply(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

const commands = readline.createInterface({ input: process.stdin });
commands.on('line', (line) => {
  if (!line.trim()) return;
  const cmd = JSON.parse(line);
  if (cmd.cmd === 'publish') publish(cmd.rate, cmd.seconds);
  else if (cmd.cmd === 'gc') {
    if (global.gc) global.gc();
    setTimeout(() => reply({ done: 'gc', rss: process.memoryUsage().rss }), 200);
  } else if (cmd.cmd === 'quit') {
    io.close();
    process.exit(0);
  } else reply({ error: 'unknown command ' + cmd.cmd });
});
commands.on('close', () => process.exit(0));

httpServer.listen(port, '127.0.0.1', () => {
  const info = { port: httpServer.address().port, pid: process.pid, show_id: SHOW_ID };
  process.stdout.write('READY ' + JSON.stringify(info) + '\n');
});
