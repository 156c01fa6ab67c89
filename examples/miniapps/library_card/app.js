/* Library Card (demo mini-program). It has no network (the platform's CSP: connect-src 'none')
 * and no storage (an opaque origin): everything goes through the MessagePort the tungban app
 * hands over. Protocol: examples/miniapps/README.md. */
"use strict";

const TEXT = {
  en: {
    title: "Library Card", number: "Card number", holder: "Card holder", show: "Show my name on the card",
    fine: "Overdue fine: HK$5.00", pay: "Pay the fine", shown: "Your name is shown on the card.",
    refused: "Not shared", paid: "Paid.",
    permission_denied: "Nothing was shared: this was not allowed, or the tungban app cannot do it yet.",
    busy: "The tungban app is asking you something else: answer it first, then try again.",
    other: "This did not work. Nothing was shared.",
  },
  zh: {
    title: "圖書證", number: "證號", holder: "持證人", show: "在圖書證上顯示我的姓名",
    fine: "逾期罰款：港幣5.00元", pay: "繳交罰款", shown: "你的姓名已顯示在圖書證上。",
    refused: "沒有分享", paid: "已繳款。",
    permission_denied: "沒有分享任何資料：未獲允許，或通辦應用程式暫時未能提供此功能。",
    busy: "通辦應用程式正在詢問你另一件事，請先回答，然後再試。",
    other: "未能完成，沒有分享任何資料。",
  },
};
let port = null;
let seq = 0;
let t = TEXT.en;
const waiting = new Map();

function call(method, params) {
  return new Promise((resolve) => {
    seq += 1;
    waiting.set(seq, resolve);
    port.postMessage({ id: seq, method, params: params || {} });
  });
}

function onReply(event) {
  const reply = event.data || {};
  const resolve = waiting.get(reply.id);
  if (resolve) { waiting.delete(reply.id); resolve(reply); }
}

function status(text, code) {
  const el = document.getElementById("status");
  el.textContent = text;
  if (code) el.dataset.code = code; else delete el.dataset.code;
}

function setText(lang) {
  t = lang && lang.startsWith("zh") ? TEXT.zh : TEXT.en;
  document.documentElement.lang = lang && lang.startsWith("zh") ? "zh-Hant-HK" : "en";
  document.title = t.title;
  document.getElementById("title").textContent = t.title;
  document.getElementById("number-label").textContent = t.number;
  document.getElementById("holder-label").textContent = t.holder;
  document.getElementById("show-name").textContent = t.show;
  document.getElementById("fine-text").textContent = t.fine;
  document.getElementById("pay").textContent = t.pay;
}

async function start() {
  const launched = await call("launch");
  if (!launched.ok) { status(launched.error.message, launched.error.code); return; }
  setText(launched.result.lang);
  // The card number is derived from this mini-program's own pairwise id (no HKID, no name).
  const digits = Array.from(launched.result.sub).map((c) => c.charCodeAt(0) % 10).join("").slice(0, 10);
  document.getElementById("number").textContent = "HKPL " + digits;
  document.body.dataset.ready = "true";
  document.getElementById("show-name").disabled = false;
  document.getElementById("pay").disabled = false;
}

async function ask(permission, onOk) {
  status("");
  const reply = await call("request", { permission });
  if (reply.ok) onOk(reply.result);
  // A plain sentence in the page's language; the code stays in data-code, not on screen.
  else status(t[reply.error.code] || t.other, reply.error.code);
}

document.getElementById("show-name").addEventListener("click", () => ask("profile.name", (r) => {
  document.getElementById("holder").textContent = t === TEXT.zh ? (r.name_zh || r.name_en) : r.name_en;
  status(t.shown);
}));
document.getElementById("pay").addEventListener("click", () => ask("payment.request", () => status(t.paid)));

window.addEventListener("message", (event) => {
  const d = event.data;
  if (port || event.source !== window.parent || !d || d.type !== "tungban-bridge" || !event.ports[0]) return;
  port = event.ports[0];
  port.onmessage = onReply;
  start();
});
