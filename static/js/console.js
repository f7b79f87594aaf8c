// The control room: lifecycle buttons, lineup, pin and highlights, live counters.
// Talks to /api/v1 with the session cookie and the CSRF header; listens on /console.

const room = document.getElementById("room");
const showId = Number(room.dataset.showId);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const locale = room.dataset.lang === "ko" ? "ko-KR" : "en-US";
const lineupEl = document.getElementById("lineup");
const emptyEl = document.getElementById("lineup-empty");
const errorEl = document.getElementById("room-error");
const template = document.getElementById("lineup-item-template");
const statusEl = document.getElementById("show-status");
const dialog = document.getElementById("confirm-dialog");
const ACTION_PATHS = { schedule: "schedule", rehearse: "rehearse", go_live: "go-live", end: "end", cancel: "cancel" };

class ApiError extends Error {
  constructor(code, status) { super(code); this.code = code; this.status = status; }
}

async function api(method, path, body) {
  const headers = { "X-CSRF-Token": csrf, Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError((data && data.code) || String(res.status), res.status);
  return data;
}

const number = (n) => Number(n).toLocaleString(locale);
const price = (n) => room.dataset.priceFormat.replace("{amount}", number(n));
const stockText = (n) => (n > 0 ? room.dataset.stockFormat.replace("{n}", number(n)) : room.dataset.soldOut);

function showError(err) {
  errorEl.textContent = room.dataset.failed.replace("{code}", err && err.code ? err.code : String(err));
  errorEl.classList.remove("hidden");
}

function clearError() {
  errorEl.classList.add("hidden");
  errorEl.textContent = "";
}

// --- status and lifecycle -------------------------------------------------------------

function setStatus(status) {
  room.dataset.status = status;
  statusEl.dataset.status = status;
  statusEl.className = `badge status-${status}`;
  const label = document.querySelector(`[data-status-label="${status}"]`);
  if (label) statusEl.textContent = label.textContent;
  for (const button of document.querySelectorAll("#controls [data-action]")) {
    button.classList.toggle("hidden", !button.dataset.from.split(" ").includes(status));
  }
}

function confirmed(message) {
  return new Promise((resolve) => {
    document.getElementById("confirm-message").textContent = message;
    dialog.returnValue = "";
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
  });
}

for (const button of document.querySelectorAll("#controls [data-action]")) {
  button.addEventListener("click", async () => {
    if (button.dataset.confirm && !(await confirmed(button.dataset.confirm))) return;
    button.disabled = true;
    try {
      const show = await api("POST", `/api/v1/shows/${showId}/${ACTION_PATHS[button.dataset.action]}`);
      clearError();
      setStatus(show.status);
    } catch (err) {
      showError(err);
    } finally {
      button.disabled = false;
    }
  });
}

const regenerate = document.getElementById("regenerate-key");
if (regenerate) {
  regenerate.addEventListener("click", async () => {
    try {
      const show = await api("POST", `/api/v1/shows/${showId}/stream-key`);
      document.getElementById("stream-key").textContent = show.stream_key;
      clearError();
    } catch (err) {
      showError(err);
    }
  });
}

// --- lineup ----------------------------------------------------------------------------

function renderItem(item) {
  const li = template.content.firstElementChild.cloneNode(true);
  li.dataset.productId = String(item.id);
  li.classList.toggle("is-pinned", Boolean(item.pinned));
  li.classList.toggle("is-highlighted", Boolean(item.highlighted));
  const img = li.querySelector("img");
  const blank = li.querySelector(".thumb-blank");
  if (item.image_url) {
    img.src = item.image_url;
    blank.remove();
  } else {
    img.remove();
  }
  li.querySelector('[data-field="name"]').textContent = item.name;
  li.querySelector('[data-field="price"]').textContent = price(item.price);
  li.querySelector('[data-field="stock"]').textContent = stockText(item.stock);
  return li;
}

function renderLineup(items) {
  lineupEl.replaceChildren(...items.map(renderItem));
  emptyEl.classList.toggle("hidden", items.length > 0);
}

function markPinned(productId) {
  for (const li of lineupEl.children) {
    li.classList.toggle("is-pinned", productId !== null && li.dataset.productId === String(productId));
  }
}

function setStock(stock) {
  for (const [id, n] of Object.entries(stock || {})) {
    const li = lineupEl.querySelector(`[data-product-id="${CSS.escape(id)}"]`);
    if (li) li.querySelector('[data-field="stock"]').textContent = stockText(n);
  }
}

const OPS = {
  pin: (pid) => api("POST", `/api/v1/shows/${showId}/pin`, { product_id: pid }),
  unpin: () => api("DELETE", `/api/v1/shows/${showId}/pin`),
  highlight: (pid) => api("POST", `/api/v1/shows/${showId}/highlights`, { product_id: pid }),
  unhighlight: (pid) => api("DELETE", `/api/v1/shows/${showId}/highlights/${pid}`),
  remove: (pid) => api("DELETE", `/api/v1/shows/${showId}/lineup/${pid}`),
};

lineupEl.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-op]");
  if (!button) return;
  const li = button.closest("[data-product-id]");
  button.disabled = true;
  try {
    const lineup = await OPS[button.dataset.op](Number(li.dataset.productId));
    clearError();
    renderLineup(lineup.items);
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
  }
});

const addForm = document.getElementById("lineup-add");
if (addForm) {
  addForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const select = addForm.elements.product_id;
    if (!select.value) return;
    try {
      const lineup = await api("POST", `/api/v1/shows/${showId}/lineup`, { product_id: Number(select.value) });
      select.selectedOptions[0].remove();
      select.value = "";
      clearError();
      renderLineup(lineup.items);
    } catch (err) {
      showError(err);
    }
  });
}

// --- live counters and updates from other consoles ------------------------------------------

const STAT_ALIASES = { peak_viewers: "peak", chat_per_minute: "chat_rate" };

function setStats(stats) {
  for (const [key, value] of Object.entries(stats || {})) {
    const el = document.querySelector(`#stats [data-stat="${STAT_ALIASES[key] || key}"]`);
    if (!el || typeof value !== "number") continue;
    el.textContent = key === "gmv" ? price(value) : number(value);
  }
}

async function listen() {
  let socket;
  try {
    const { connect } = await import("/static/js/socket.js");
    socket = connect("/console");
  } catch (err) {
    console.warn("control room: live updates unavailable", err);
    return;
  }
  socket.on("state", (state) => {
    if (state.show) setStatus(state.show.status);
    if (Array.isArray(state.lineup)) renderLineup(state.lineup);
    if (typeof state.viewers === "number") setStats({ viewers: state.viewers });
    if (typeof state.hearts === "number") setStats({ hearts: state.hearts });
  });
  socket.on("show", (data) => data && data.show && setStatus(data.show.status));
  socket.on("pinned", (data) => markPinned(data && data.product ? data.product.id : null));
  socket.on("lineup", (data) => data && Array.isArray(data.lineup) && renderLineup(data.lineup));
  socket.on("stock", setStock);
  socket.on("viewers", (n) => setStats({ viewers: n }));
  socket.on("hearts", (n) => setStats({ hearts: n }));
  socket.on("stats", setStats);
  try {
    const ack = await socket.join(showId);
    room.dataset.joined = "true";
    const { share } = await import("/static/js/page-socket.js");
    share(socket, ack && ack.state);
  } catch (err) {
    console.warn("control room: join failed", err);
  }
}

listen();
