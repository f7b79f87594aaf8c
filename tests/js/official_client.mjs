// The official socket.io-client 4 against a running ONAIR node, driven by
// tests/integration/test_realtime_js.py. Prints one JSON object per line.
//   node official_client.mjs <base url> <token> <show id> [websocket|default]
import { io } from "socket.io-client";

const [url, token, showArg, transport] = process.argv.slice(2);
const showId = Number(showArg);
const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const options = { auth: { token }, reconnection: false, timeout: 5000 };
if (transport === "websocket") options.transports = ["websocket"];

const socket = io(`${url}/live`, options);
const deadline = setTimeout(() => {
  say({ step: "timeout" });
  process.exit(1);
}, 15000);

socket.on("connect_error", (err) => {
  say({ step: "connect_error", message: err.message, data: err.data ?? null });
  clearTimeout(deadline);
  socket.close();
});

socket.on("connect", async () => {
  const ack = await socket.timeout(5000).emitWithAck("join", { show_id: showId });
  say({ step: "joined", ack, transport: socket.io.engine.transport.name });
});

socket.on("pinned", (payload) => say({ step: "pinned", payload }));

socket.on("tick", async (tick) => {
  say({ step: "tick", tick });
  if (!tick.events) return;
  const heart = await socket.timeout(5000).emitWithAck("heart", { count: 2 });
  const bad = await socket.timeout(5000).emitWithAck("heart", { count: 99 });
  say({ step: "done", heart, bad, transport: socket.io.engine.transport.name });
  clearTimeout(deadline);
  socket.close();
});
