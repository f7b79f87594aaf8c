// The viewer page: identity (guest or shop token), the show's socket, the pinned card,
// hearts with a floating animation, the viewer count and the ended screen.

const root = document.getElementById("live");
const showId = Number(root.dataset.showId);
const locale = root.dataset.lang === "ko" ? "ko-KR" : "en-US";
const TOKEN_KEY = "onair.viewer.token";
const NICK_KEY = "onair.viewer.nickname";
const CLOSED = ["ended", "cancelled"];

const $ = (id) => document.getElementById(id);
const number = (n) => Number(n).toLocaleString(locale);
const price = (n) => root.dataset.priceFormat.replace("{amount}", number(n));
const stockText = (n) => (n > 0 ? root.dataset.stockFormat.replace("{n}", number(n)) : root.dataset.soldOut);

// --- identity -------------------------------------------------------------------------

function storage() {
  try {
    return window.localStorage;
  } catch {
    return null; // private mode or blocked storage: a fresh guest each visit
  }
}

function nickname() {
  const store = storage();
  let nick = store && store.getItem(NICK_KEY);
  if (!nick) {
    nick = `${root.dataset.guestName}${Math.floor(1000 + Math.random() * 9000)}`;
    if (store) store.setItem(NICK_KEY, nick);
  }
  return nick;
}

async function guestToken(fresh) {
  const store = storage();
  const kept = !fresh && store && store.getItem(TOKEN_KEY);
  if (kept) return kept;
  const res = await fetch("/api/v1/viewer/guest", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ nickname: nickname() }),
  });
  if (!res.ok) throw new Error(`guest identity failed: ${res.status}`);
  const data = await res.json();
  if (store) store.setItem(TOKEN_KEY, data.token);
  return data.token;
}

function shopToken() {
  const url = new URL(window.location.href);
  const token = url.searchParams.get("token");
  if (token) {
    // Keep the shop's token out of history, bookmarks and Referer headers.
    url.searchParams.delete("token");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  return token;
}

// --- rendering ------------------------------------------------------------------------

function setStatus(status) {
  root.dataset.status = status;
  $("live-badge").classList.toggle("hidden", status !== "live");
  $("pre-show").classList.toggle("hidden", !["draft", "scheduled", "rehearsal"].includes(status));
  const closed = CLOSED.includes(status);
  $("ended").classList.toggle("hidden", !closed);
  const title = $("ended-title");
  title.textContent = status === "cancelled" ? title.dataset.cancelled : title.dataset.ended;
  if (closed) setPinned(null);
}

function setPinned(product) {
  const card = $("pinned");
  if (!product) {
    card.classList.add("hidden");
    card.dataset.productId = "";
    $("buy").dataset.productId = "";
    return;
  }
  card.dataset.productId = String(product.id);
  $("buy").dataset.productId = String(product.id);
  const img = $("pinned-image");
  if (product.image_url) {
    img.src = product.image_url;
    img.classList.remove("hidden");
  } else {
    img.removeAttribute("src");
    img.classList.add("hidden");
  }
  $("pinned-name").textContent = product.name;
  $("pinned-price").textContent = price(product.price);
  setCardStock(product.stock);
  card.classList.remove("hidden");
}

function setCardStock(n) {
  $("pinned-stock").textContent = stockText(n);
  $("buy").disabled = !(n > 0);
}

function setStock(stock) {
  const current = $("pinned").dataset.productId;
  if (current && stock && Object.hasOwn(stock, current)) setCardStock(stock[current]);
}

function setCount(id, n) {
  if (typeof n === "number") $(id).textContent = number(n);
}

// --- hearts ---------------------------------------------------------------------------

let pendingHearts = 0;
let socket = null;

function floatHeart() {
  const heart = document.createElement("span");
  heart.className = `float-heart drift-${Math.floor(Math.random() * 4)}`;
  heart.textContent = "♥";
  heart.addEventListener("animationend", () => heart.remove(), { once: true });
  $("hearts-layer").append(heart);
}

$("heart-btn").addEventListener("click", () => {
  floatHeart();
  pendingHearts += 1;
});

setInterval(() => {
  if (!pendingHearts || !socket) return;
  const count = Math.min(pendingHearts, 50);
  pendingHearts -= count;
  socket.emit("heart", { count });
}, 400);

$("buy").addEventListener("click", (event) => {
  const productId = Number(event.currentTarget.dataset.productId);
  if (productId) root.dispatchEvent(new CustomEvent("onair:buy", { detail: { productId, showId }, bubbles: true }));
});

// --- socket ---------------------------------------------------------------------------

async function start() {
  const { connect } = await import("/static/js/socket.js");
  const { share } = await import("/static/js/page-socket.js");
  const shop = shopToken();
  let token = shop || (await guestToken(false));
  let retried = false;
  for (;;) {
    socket = connect("/live", { auth: { token } });
    socket.on("state", (state) => {
      if (state.show) setStatus(state.show.status);
      if ("pinned" in state) setPinned(state.pinned);
      setCount("viewer-count", state.viewers);
      setCount("heart-count", state.hearts);
    });
    socket.on("show", (data) => data && data.show && setStatus(data.show.status));
    socket.on("pinned", (data) => setPinned(data ? data.product : null));
    socket.on("stock", setStock);
    socket.on("viewers", (n) => setCount("viewer-count", n));
    socket.on("hearts", (n) => setCount("heart-count", n));
    socket.on("disconnect", () => $("offline").classList.remove("hidden"));
    socket.on("connect", () => $("offline").classList.add("hidden"));
    try {
      const ack = await socket.join(showId);
      root.dataset.joined = "true"; // tests and styles can tell the page is live
      share(socket, ack && ack.state);
      return;
    } catch (err) {
      const code = err && (err.code || err.error || err.message);
      if (shop || retried || !String(code).startsWith("token_")) {
        console.warn("live: cannot join", err);
        return;
      }
      // An expired or foreign guest token: get a new one once.
      retried = true;
      socket.close && socket.close();
      token = await guestToken(true);
    }
  }
}

start().catch((err) => console.warn("live: offline", err));
