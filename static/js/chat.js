// Chat for the viewer page (/live/{id}) and the control room (/console/shows/{id}).
//
// Mounts on <section id="chat" data-show-id="..."> and picks its mode from
// data-mode="console" | "viewer", which the page sets. Message text is only ever set with
// textContent: nothing a viewer types becomes markup.
//
// The socket is the page's own (static/js/page-socket.js): one connection per page, so a
// viewer is counted once and a shop token carries over to chat.

import { sharedSocket } from "/static/js/page-socket.js";

const MAX_SHOWN = 300;
const NEAR_BOTTOM_PX = 32;

const TEXT = {
  en: {
    placeholder: "Say something…", send: "Send", more: "New messages ↓",
    host: "Host", moderator: "Mod", staff: "Staff", announcement: "Notice",
    highlighted: "Highlighted", hide: "Hide", hide_user: "Hide all", timeout: "Time out",
    ban: "Ban", unban: "Unban", reply: "Reply", highlight: "Highlight", clear: "Clear",
    slow: "Slow mode", seconds: "s", off: "off", mode: "Who can chat",
    open: "Everyone", members: "Members", established: "Joined ≥ 5 min", freeze: "Freeze",
    announce: "Announce", replying: "Replying to",
    errors: {
      rate_limited: "You are sending too fast. Try again in {s}s.",
      slow_mode: "Slow mode: wait {s}s.",
      repeated_text: "You already sent that. Try again in {s}s.",
      timed_out: "You are timed out for {s}s.",
      established_only: "You can chat in {s}s.",
      banned: "You cannot chat in this show.",
      blocked_word: "That message contains a word that is not allowed.",
      link_not_allowed: "Links are not allowed here.",
      chat_frozen: "Chat is paused.",
      members_only: "Only members can chat right now.",
      message_too_long: "The message is too long.",
      offline: "Offline. Reconnecting…",
      other: "Could not send ({code}).",
    },
  },
  ko: {
    placeholder: "메시지를 입력하세요…", send: "전송", more: "새 메시지 ↓",
    host: "호스트", moderator: "매니저", staff: "스태프", announcement: "공지",
    highlighted: "하이라이트", hide: "숨김", hide_user: "모두 숨김", timeout: "채팅 제한",
    ban: "차단", unban: "차단 해제", reply: "답장", highlight: "강조", clear: "해제",
    slow: "슬로우 모드", seconds: "초", off: "끔", mode: "채팅 가능",
    open: "모두", members: "회원만", established: "5분 이상 시청", freeze: "채팅 멈춤",
    announce: "공지", replying: "답장 대상",
    errors: {
      rate_limited: "너무 빨리 보내고 있어요. {s}초 후에 다시 시도하세요.",
      slow_mode: "슬로우 모드: {s}초 기다려 주세요.",
      repeated_text: "같은 메시지를 이미 보냈어요. {s}초 후에 다시 시도하세요.",
      timed_out: "{s}초 동안 채팅이 제한되었어요.",
      established_only: "{s}초 후에 채팅할 수 있어요.",
      banned: "이 방송에서 채팅할 수 없어요.",
      blocked_word: "허용되지 않는 단어가 있어요.",
      link_not_allowed: "링크는 보낼 수 없어요.",
      chat_frozen: "채팅이 잠시 멈췄어요.",
      members_only: "지금은 회원만 채팅할 수 있어요.",
      message_too_long: "메시지가 너무 길어요.",
      offline: "연결이 끊겼어요. 다시 연결하는 중…",
      other: "보내지 못했어요 ({code}).",
    },
  },
};

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function newNonce() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

class ChatView {
  constructor(section) {
    this.section = section;
    this.showId = Number(section.dataset.showId);
    const mode = section.dataset.mode === "console" ? "console" : "viewer";
    this.console = mode === "console";
    const lang = (section.dataset.lang || document.documentElement.lang || "en").slice(0, 2);
    this.t = TEXT[lang] || TEXT.en;
    this.socket = null;
    this.queue = [];
    this.frame = 0;
    this.unseen = 0;
    this.replyTo = null;
    this.build();
  }

  // --- layout ---------------------------------------------------------------------------

  build() {
    const s = this.section;
    s.classList.add("chat-box", this.console ? "chat-console" : "chat-viewer");
    s.dataset.mode = this.console ? "console" : "viewer";
    this.announcement = el("div", "chat-announcement hidden");
    this.highlight = el("div", "chat-highlight hidden");
    this.list = el("ol", "chat-list");
    this.list.setAttribute("aria-live", "polite");
    this.pill = el("button", "chat-pill hidden", this.t.more);
    this.pill.type = "button";
    this.error = el("p", "chat-error hidden");
    this.error.setAttribute("role", "status");
    this.replying = el("div", "chat-replying hidden");
    this.form = el("form", "chat-form");
    this.input = el("input", "chat-input");
    this.input.name = "text";
    this.input.maxLength = 200;
    this.input.autocomplete = "off";
    this.input.placeholder = this.t.placeholder;
    const send = el("button", "chat-send", this.t.send);
    send.type = "submit";
    this.form.append(this.input, send);
    s.replaceChildren(this.announcement, this.highlight, this.list, this.pill, this.error,
      this.replying, this.form);
    if (this.console) s.prepend(this.tools());

    this.list.addEventListener("scroll", () => {
      if (this.nearBottom()) this.clearPill();
    });
    this.pill.addEventListener("click", () => {
      this.list.scrollTop = this.list.scrollHeight;
      this.clearPill();
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.list.addEventListener("click", (event) => this.onAction(event));
  }

  tools() {
    const t = this.t;
    const bar = el("div", "chat-tools");
    const slow = el("select", "chat-slow");
    slow.setAttribute("aria-label", t.slow);
    for (const n of [0, 5, 10, 30, 60]) {
      const option = el("option", "", n ? `${t.slow} ${n}${t.seconds}` : `${t.slow}: ${t.off}`);
      option.value = String(n);
      slow.append(option);
    }
    slow.addEventListener("change", () => this.moderate({ action: "settings", slow_seconds: Number(slow.value) }));
    const mode = el("select", "chat-mode");
    mode.setAttribute("aria-label", t.mode);
    for (const name of ["open", "members", "established"]) {
      const option = el("option", "", t[name]);
      option.value = name;
      mode.append(option);
    }
    mode.addEventListener("change", () => {
      const body = { action: "settings", mode: mode.value };
      if (mode.value === "established") body.established_minutes = 5;
      this.moderate(body);
    });
    const freezeLabel = el("label", "chat-freeze");
    const freeze = el("input");
    freeze.type = "checkbox";
    freeze.addEventListener("change", () => this.moderate({ action: "settings", frozen: freeze.checked }));
    freezeLabel.append(freeze, document.createTextNode(` ${t.freeze}`));
    const announce = el("button", "small", t.announce);
    announce.type = "button";
    announce.addEventListener("click", () => {
      const text = this.input.value.trim();
      this.moderate({ action: "announce", text: text || null });
      this.input.value = "";
    });
    this.controls = { slow, mode, freeze };
    bar.append(slow, mode, freezeLabel, announce);
    return bar;
  }

  // --- socket ---------------------------------------------------------------------------

  attach(socket, state) {
    this.socket = socket;
    socket.on("state", (st) => this.onState(st));
    socket.on("chat", (m) => this.enqueue(m));
    socket.on("chat_hidden", (h) => this.onHidden(h));
    socket.on("chat_settings", (st) => this.onSettings(st));
    socket.on("chat_announcement", (a) => this.setAnnouncement(a && a.announcement));
    socket.on("chat_highlight", (h) => this.setHighlight(h && h.message));
    socket.on("reset", () => this.list.replaceChildren());
    if (state) this.onState(state);
  }

  onState(state) {
    const chat = state && state.chat;
    if (!chat) return;
    // The snapshot is the whole truth for the newest messages: keep only what it lists
    // plus anything newer that already arrived.
    const known = new Set((chat.messages || []).map((m) => m.id));
    const newest = chat.messages && chat.messages.length ? chat.messages[chat.messages.length - 1].id : 0;
    for (const li of [...this.list.children]) {
      const id = Number(li.dataset.id);
      if (!known.has(id) && id <= newest) li.remove();
    }
    for (const m of chat.messages || []) if (!this.list.querySelector(`[data-id="${m.id}"]`)) this.enqueue(m);
    this.setAnnouncement(chat.announcement);
    this.setHighlight(chat.highlighted);
    this.onSettings(chat.settings);
  }

  onSettings(settings) {
    if (!settings) return;
    this.section.dataset.frozen = String(Boolean(settings.frozen));
    this.section.dataset.slow = String(settings.slow_seconds || 0);
    if (this.controls) {
      this.controls.slow.value = String(settings.slow_seconds || 0);
      this.controls.mode.value = settings.mode || "open";
      this.controls.freeze.checked = Boolean(settings.frozen);
    }
  }

  // --- rendering ------------------------------------------------------------------------

  enqueue(message) {
    if (!message || typeof message.text !== "string") return;
    this.queue.push(message);
    if (!this.frame) this.frame = window.requestAnimationFrame(() => this.flush());
  }

  flush() {
    this.frame = 0;
    const stick = this.nearBottom();
    const batch = this.queue.splice(0, this.queue.length).slice(-MAX_SHOWN);
    const fragment = document.createDocumentFragment();
    for (const m of batch) fragment.append(this.row(m));
    this.list.append(fragment);
    while (this.list.childElementCount > MAX_SHOWN) this.list.firstElementChild.remove();
    if (stick) {
      this.list.scrollTop = this.list.scrollHeight;
    } else {
      this.unseen += batch.length;
      this.pill.classList.remove("hidden");
    }
  }

  row(m) {
    const li = el("li", "chat-msg");
    if (m.id !== undefined) li.dataset.id = String(m.id);
    li.dataset.userId = m.user_id;
    if (m.reply_to) {
      li.append(el("div", "chat-quote", `↪ ${m.reply_to.nickname}: ${m.reply_to.text}`));
    }
    for (const badge of m.badges || []) {
      const label = badge.startsWith("tier:") ? badge.slice(5).toUpperCase() : this.t[badge] || badge;
      li.append(el("span", `chat-badge chat-badge-${badge.split(":")[0]}`, label));
    }
    li.append(el("span", "chat-nick", m.nickname), el("span", "chat-text", m.text));
    if (this.console && m.id !== undefined) {
      const tools = el("span", "chat-actions");
      for (const action of ["reply", "highlight", "hide", "hide_user", "timeout", "ban"]) {
        const button = el("button", "small", this.t[action]);
        button.type = "button";
        button.dataset.action = action;
        tools.append(button);
      }
      li.append(tools);
    }
    return li;
  }

  nearBottom() {
    const l = this.list;
    return l.scrollHeight - l.scrollTop - l.clientHeight < NEAR_BOTTOM_PX;
  }

  clearPill() {
    this.unseen = 0;
    this.pill.classList.add("hidden");
  }

  onHidden(hidden) {
    if (!hidden) return;
    const ids = new Set((hidden.ids || []).map(String));
    const drop = (m) => ids.has(String(m.id)) || (hidden.user_id && m.user_id === hidden.user_id);
    this.queue = this.queue.filter((m) => !drop(m));
    for (const li of [...this.list.children]) {
      if (ids.has(li.dataset.id) || (hidden.user_id && li.dataset.userId === hidden.user_id)) li.remove();
    }
    if (this.highlight.dataset.id && ids.has(this.highlight.dataset.id)) this.setHighlight(null);
  }

  setAnnouncement(announcement) {
    this.announcement.replaceChildren();
    this.announcement.classList.toggle("hidden", !announcement);
    if (!announcement) return;
    this.announcement.append(el("strong", "", this.t.announcement), el("span", "", announcement.text));
  }

  setHighlight(message) {
    this.highlight.replaceChildren();
    this.highlight.classList.toggle("hidden", !message);
    this.highlight.dataset.id = message ? String(message.id) : "";
    if (!message) return;
    this.highlight.append(el("strong", "", this.t.highlighted), el("span", "chat-nick", message.nickname),
      el("span", "chat-text", message.text));
    if (this.console) {
      const clear = el("button", "small", this.t.clear);
      clear.type = "button";
      clear.addEventListener("click", () => this.moderate({ action: "highlight", message_id: null }));
      this.highlight.append(clear);
    }
  }

  showError(ack) {
    const errors = this.t.errors;
    const code = (ack && ack.error) || "other";
    const seconds = ack && typeof ack.retry_after === "number" ? Math.ceil(ack.retry_after) : 0;
    const text = (errors[code] || errors.other).replace("{s}", String(seconds)).replace("{code}", code);
    this.error.textContent = text;
    this.error.dataset.code = code;
    this.error.classList.remove("hidden");
  }

  // --- actions --------------------------------------------------------------------------

  async send() {
    const text = this.input.value.trim();
    if (!text || !this.socket) return;
    const body = { text, nonce: newNonce() };
    if (this.replyTo) body.reply_to = this.replyTo;
    let ack = await this.socket.emit("chat", body);
    if (ack && !ack.ok && (ack.error === "timeout" || ack.error === "offline")) {
      ack = await this.socket.emit("chat", body); // same nonce: never two messages
    }
    if (ack && ack.ok) {
      this.input.value = "";
      this.error.classList.add("hidden");
      this.setReply(null);
    } else {
      this.showError(ack);
    }
  }

  setReply(message) {
    this.replyTo = message ? message.id : null;
    this.replying.replaceChildren();
    this.replying.classList.toggle("hidden", !message);
    if (message) this.replying.append(el("span", "", `${this.t.replying} ${message.nickname}: ${message.text}`));
  }

  async moderate(body) {
    if (!this.socket) return null;
    const ack = await this.socket.emit("chat_moderate", body);
    if (!ack || !ack.ok) this.showError(ack);
    return ack;
  }

  onAction(event) {
    const button = event.target.closest("button[data-action]");
    if (!button || !this.console) return;
    const li = button.closest(".chat-msg");
    const id = Number(li.dataset.id);
    const userId = li.dataset.userId;
    const action = button.dataset.action;
    if (action === "reply") {
      const text = li.querySelector(".chat-text").textContent;
      const nickname = li.querySelector(".chat-nick").textContent;
      this.setReply({ id, text, nickname });
      this.input.focus();
    } else if (action === "highlight") {
      this.moderate({ action: "highlight", message_id: id });
    } else if (action === "hide") {
      this.moderate({ action: "hide", message_id: id });
    } else if (action === "hide_user") {
      this.moderate({ action: "hide_user", user_id: userId });
    } else if (action === "timeout") {
      this.moderate({ action: "timeout", user_id: userId, seconds: 300 });
    } else if (action === "ban") {
      this.moderate({ action: "ban", user_id: userId, scope: "show" });
    }
  }
}

// --- socket hand-over -------------------------------------------------------------------

async function mount(section) {
  const view = new ChatView(section);
  // The page script owns the connection and hands it over once joined.
  const given = await sharedSocket();
  view.attach(given.socket, given.state);
  given.socket.on("disconnect", () => view.showError({ error: "offline" }));
  given.socket.on("connect", () => view.error.classList.add("hidden"));
  section.dataset.ready = "true"; // tests and styles can tell chat is live
  return view;
}

function addStylesheet() {
  if (document.querySelector('link[href="/static/css/chat.css"]')) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/static/css/chat.css";
  document.head.append(link);
}

const section = document.getElementById("chat");
if (section && section.dataset.showId) {
  addStylesheet();
  mount(section).catch((err) => console.warn("chat: offline", err));
}
