/* Messages (#inbox, #inbox/<id>; issue 16): the list with read/unread, one message with its
 * verified sender (lib/inbox.js), and Web Push for this phone (subscribe/unsubscribe; the
 * service worker shows the push messages, templates/wallet/sw.js). */

import { api } from "../lib/api.js";
import { b64uDecode } from "../lib/encoding.js";
import { inboxRoute, verifyMessage } from "../lib/inbox.js";
import { fmt } from "../lib/messages.js";
import { config, state } from "../state.js";
import { $, busy, el, notify, onShow, show, showError } from "../ui/dom.js";
import { dateTime, isEn, partyName } from "../ui/format.js";

export { inboxRoute };

const S = {};
const strings = document.getElementById("i18n-inbox");
if (strings) strings.content.querySelectorAll("[data-k]").forEach((e) => { S[e.dataset.k] = e.textContent.trim(); });

const base = () => (config.root && config.root.dataset.notifyApi) || "/api/v1/notify";
const call = (method, path, body) => api(method, path, { device: state.device, base: base(), body });
const pick = (m, field) => (isEn ? m[field + "_en"] || m[field + "_zh"] : m[field + "_zh"] || m[field + "_en"]);

let jwks = null;
async function platformKeys() {
  if (!jwks) {
    const r = await fetch(config.jwks, { headers: { Accept: "application/json" } });
    jwks = r.ok ? await r.json() : { keys: [] };
  }
  return jwks;
}

function senderLine(m, verified) {
  return verified
    ? el("span", { class: "verified", text: fmt(S.inbox_verified, { sender: partyName(verified) }) })
    : el("span", { class: "unverified", text: S.inbox_unverified });
}

function messageItem(m, verified) {
  const link = el("a", { class: "item-link", href: config.home + "#inbox/" + m.id },
    el("strong", { class: "subject", text: pick(m, "subject") }),
    m.read ? null : el("span", { class: "badge unread", text: S.inbox_unread }),
    el("span", { class: "sender", text: partyName(m.sender) }),
    el("span", { class: "hint when", text: dateTime(m.created_at) }));
  return el("li", { class: "item message" + (m.read ? "" : " is-unread"), "data-message-id": m.id, "data-read": String(m.read) },
    link, el("p", { class: "sender-check" }, senderLine(m, verified)));
}

/** The inbox: newest first; each message's sender checked against the platform's keys. */
export async function showInbox() {
  show("screen-inbox");
  $("inbox").replaceChildren();
  $("inbox-empty").hidden = true;
  await busy([], async () => {
    const [messages, keys] = await Promise.all([call("GET", "/app/inbox"), platformKeys()]);
    const checked = await Promise.all(messages.map((m) => verifyMessage(m, keys)));
    $("inbox").replaceChildren(...messages.map((m, i) => messageItem(m, checked[i])));
    $("inbox-empty").hidden = messages.length > 0;
  });
  // The phone's push state needs the service worker, which may still be installing on a first
  // visit: the list does not wait for it.
  showPushState().catch(showError);
}

/** One message (marked read when opened). */
export async function showMessage(id) {
  show("screen-message");
  ["message-title", "message-sender", "message-date", "message-body"].forEach((x) => { $(x).textContent = ""; });
  await busy([], async () => {
    const [m, keys] = await Promise.all([call("GET", "/app/inbox/" + encodeURIComponent(id)), platformKeys()]);
    const verified = await verifyMessage(m, keys);
    $("message-title").textContent = pick(m, "subject");
    $("message-sender").replaceChildren(senderLine(m, verified));
    $("message-sender").dataset.verified = String(Boolean(verified));
    $("message-date").textContent = dateTime(m.created_at);
    $("message-body").textContent = pick(m, "body");
    $("message-unread").dataset.id = m.id;
    if (!m.read) await call("POST", "/app/inbox/" + encodeURIComponent(m.id) + "/read", { read: true });
  });
}

/** ``#inbox`` or ``#inbox/<id>`` (a route from main.js). */
export function showInboxRoute(route) {
  return route.id ? showMessage(route.id) : showInbox();
}

async function onMarkUnread() {
  const id = $("message-unread").dataset.id;
  if (!id) return;
  await busy([$("message-unread")], async () => {
    await call("POST", "/app/inbox/" + encodeURIComponent(id) + "/read", { read: false });
  });
  history.pushState(null, "", config.home + "#inbox");
  await showInbox();
  notify(S.inbox_marked_unread);
}

// --- Web Push (RFC 8030 / 8291 / 8292) -------------------------------------------------------------

const pushSupported = () => "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;

/** The app's service worker registration (null when none is active within 60 s: a first
 * install caches the app shell, which a slow connection takes a while to fetch). */
async function registration() {
  const none = new Promise((resolve) => setTimeout(() => resolve(null), 60000));
  return Promise.race([navigator.serviceWorker.ready, none]);
}

function pushUi(on, text) {
  $("push-on").hidden = on;
  $("push-off").hidden = !on;
  $("push-state").textContent = text;
}

async function showPushState() {
  if (!pushSupported()) { pushUi(false, S.push_unsupported); $("push-on").hidden = true; return; }
  if (Notification.permission === "denied") { pushUi(false, S.push_denied); $("push-on").hidden = true; return; }
  const server = await call("GET", "/app/push");
  const reg = await registration();
  if (!reg) { pushUi(false, S.push_unsupported); $("push-on").hidden = true; return; }
  const sub = await reg.pushManager.getSubscription();
  const on = Boolean(sub && server.subscriptions.some((s) => s.endpoint === sub.endpoint));
  pushUi(on, on ? S.push_is_on : S.push_is_off);
}

async function onPushOn() {
  await busy([$("push-on")], async () => {
    if ((await Notification.requestPermission()) !== "granted") { pushUi(false, S.push_denied); $("push-on").hidden = true; return; }
    const server = await call("GET", "/app/push");
    let sub;
    try {
      const reg = await registration();
      if (!reg) throw new Error(S.push_unsupported);
      sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64uDecode(server.application_server_key) });
    } catch (err) {
      pushUi(false, fmt(S.push_failed, { reason: err.message || err.name }));
      return;
    }
    const json = sub.toJSON();
    await call("POST", "/app/push/subscriptions", { endpoint: json.endpoint, keys: json.keys, lang: document.documentElement.lang || "zh-Hant" });
    pushUi(true, S.push_is_on);
    $("push-off").focus();
  });
}

async function onPushOff() {
  await busy([$("push-off")], async () => {
    const reg = await registration();
    const sub = reg && (await reg.pushManager.getSubscription());
    if (sub) {
      await call("POST", "/app/push/unsubscribe", { endpoint: sub.endpoint });
      await sub.unsubscribe();
    }
    pushUi(false, S.push_is_off);
    $("push-on").focus();
  });
}

/** The home screen's count of unread messages (quietly nothing when the inbox cannot be read). */
async function showUnreadCount() {
  const badge = $("inbox-unread");
  if (!badge || !state.device) return;
  try {
    const unread = (await call("GET", "/app/inbox")).filter((m) => !m.read).length;
    badge.textContent = fmt(S.inbox_unread_count, { count: unread });
    badge.hidden = unread === 0;
  } catch (err) {
    badge.hidden = true;
  }
}

/** Wire the inbox screens' buttons and the home screen's unread count (once, from main.js). */
export function initInbox() {
  onShow((id) => { if (id === "screen-home") showUnreadCount(); });
  $("message-unread").addEventListener("click", () => onMarkUnread().catch(showError));
  $("push-on").addEventListener("click", () => onPushOn().catch(showError));
  $("push-off").addEventListener("click", () => onPushOff().catch(showError));
}
