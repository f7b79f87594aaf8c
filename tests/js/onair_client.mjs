// ONAIR's own browser client (static/js/socket.js) run by Node (--experimental-websocket),
// driven by tests/integration/test_realtime_order.py. Prints one JSON object per line:
// {"step": "joined"} once joined, then {"step": "event", "id": ...} for each event that
// reaches page code, until stdin closes.
//   node --experimental-websocket onair_client.mjs <base url> <token> <show id> <event>...
import { connect } from "../../static/js/socket.js";

const [url, token, showArg, ...names] = process.argv.slice(2);
const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const socket = connect("/live", { url, auth: { token } });
for (const name of names) socket.on(name, (payload) => say({ step: "event", name, id: payload.id }));
socket.on("join_error", (err) => say({ step: "join_error", code: err.code }));
try {
  await socket.join(Number(showArg));
  say({ step: "joined" });
} catch (err) {
  say({ step: "join_error", code: err.code });
}
process.stdin.resume();
process.stdin.on("end", () => {
  socket.close();
  process.exit(0);
});
