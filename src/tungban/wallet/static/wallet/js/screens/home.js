/* The home screen: account, e-ME profile (and editing contact details), requests waiting, the
 * history of releases and exchanges, scanning a request link. */

import { AppError, api } from "../lib/api.js";
import { checkExchange, checkHead } from "../lib/log.js";
import { T, fmt } from "../lib/messages.js";
import { saveDevice } from "../lib/store.js";
import { config, state } from "../state.js";
import { $, busy, clearMessages, el, notify, show, showError } from "../ui/dom.js";
import { dateOnly, dateTime, mmss, partyName, serviceName, tierLabel, timeOf } from "../ui/format.js";
import { claimLabel, kindLabel, outcomeText } from "../ui/strings.js";
import { lostBinding } from "./bind.js";

const requestIdFrom = (text) => { const m = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.exec(text || ""); return m ? m[0].toLowerCase() : null; };

function renderAccount(resident) {
  $("account-tier").textContent = tierLabel(resident.tier);
  $("account").dataset.tier = resident.tier;
  $("account-name-zh").textContent = resident.name_zh || resident.name_en;
  $("account-name-en").textContent = resident.name_zh ? resident.name_en : "";
  $("account-hkid").textContent = resident.hkid_masked;
}

function renderProfile(me) {
  const values = {
    name_en: me.resident.name_en, name_zh: me.resident.name_zh, hkid: me.hkid, date_of_birth: me.date_of_birth ? dateOnly(me.date_of_birth) : "",
    gender: T["gender_" + me.gender] || me.gender, residential_address: me.residential_address, billing_address: me.billing_address,
    phone: me.phone, email: me.email,
  };
  $("profile-data").querySelectorAll("dd[data-field]").forEach((dd) => {
    const value = values[dd.dataset.field];
    dd.textContent = value || "—";
    dd.classList.toggle("empty", !value);
  });
  $("profile-phone").value = me.phone || "";
  $("profile-email").value = me.email || "";
  $("profile-residential-address").value = me.residential_address || "";
  $("profile-billing-address").value = me.billing_address || "";
}

function renderPending(items) {
  const list = $("pending");
  list.replaceChildren(...items.map((r) => {
    const left = (Date.parse(r.expires_at) - Date.now()) / 1000;
    return el("li", { class: "item" },
      el("a", { href: config.home + "approve/" + r.id, class: "item-link" },
        el("strong", { text: serviceName(r.requester.name_en, r.requester.name_zh) }),
        el("span", { class: "badge", text: kindLabel(r.kind) }),
        el("span", { class: "hint", text: fmt(T.expires_in, { time: mmss(left) }) }),
        el("span", { class: "go", text: T.review })));
  }));
  $("pending-empty").hidden = items.length > 0;
}

function releaseItem(h) {
  return el("li", { class: "item", "data-kind": "release" },
    el("div", { class: "item-head" },
      el("strong", { class: "service", text: serviceName(h.requester_name_en, h.requester_name_zh) }),
      el("span", { class: "badge", text: kindLabel(h.kind) })),
    el("time", { datetime: h.released_at, class: "hint", text: dateTime(h.released_at) }),
    el("ul", { class: "tags" }, h.claims.map((c) => el("li", { "data-claim": c, text: claimLabel(c) }))));
}

/** An exchange between organisations: "{user} received {product} from {provider}", purpose, outcome.
 * An attempt the platform never completed (``state`` "unknown", issue 14 item 4) says that the
 * provider may have released the data; one still waiting for its provider (``in_progress``) says so. */
function exchangeItem(x) {
  const vars = { user: partyName(x.data_user), product: partyName(x.product), provider: partyName(x.data_provider) };
  const key = (x.delivered ? "exchange_received" : "exchange_asked") + (x.data_provider ? "" : "_no_provider");
  const state = x.state || "completed";
  const outcome = state === "unknown" ? fmt(T.outcome_unknown, vars)
    : state === "in_progress" ? fmt(T.outcome_in_progress, vars)
    : x.delivered ? T.outcome_delivered : fmt(T.outcome_refused, { reason: outcomeText(x.outcome) });
  const look = state !== "completed" ? state.replace("_", "-") : x.delivered ? "ok" : "refused";
  return el("li", { class: "item exchange" + (look === "ok" ? "" : " " + look), "data-kind": "exchange", "data-exchange-id": x.id, "data-outcome": x.outcome, "data-state": state },
    el("div", { class: "item-head" },
      el("strong", { class: "service", text: vars.user }),
      el("span", { class: "badge", text: T.kind_exchange })),
    el("time", { datetime: x.at, class: "hint", text: dateTime(x.at) }),
    el("p", { class: "exchange-what", text: fmt(T[key], vars) }),
    x.purpose ? el("p", { class: "exchange-purpose", text: fmt(T.exchange_purpose, { purpose: x.purpose }) }) : null,
    el("p", { class: "outcome " + look, text: outcome }),
    logLine(x));
}

/** Whether this app verified the exchange is in the public transparency log (issue 14 item 10). */
function logLine(x) {
  if (x.logCheck === undefined) return null;
  if (x.logCheck === null) {
    return el("p", { class: "log-check hint", "data-log": "verified", text: fmt(T.log_verified, { index: x.log.leaf_index }) });
  }
  const missing = x.logCheck === "missing";
  const text = missing ? T.log_missing : T["log_" + x.logCheck] || T.log_failed;
  return el("p", { class: "log-check" + (missing ? " hint" : " warn"), "data-log": missing ? "missing" : "failed",
    "data-log-problem": x.logCheck, text });
}

/** Check each exchange against the public log with the platform's keys; leaves ``logCheck``
 * unset (nothing shown) when the keys cannot be fetched. */
async function checkLog(exchanges) {
  if (!exchanges.some((x) => x.log)) {
    exchanges.forEach((x) => { x.logCheck = "missing"; });
    return;
  }
  let jwks;
  try {
    const r = await fetch(config.jwks, { headers: { Accept: "application/json" } });
    if (!r.ok) return;
    jwks = await r.json();
  } catch (e) {
    return;
  }
  for (const x of exchanges) x.logCheck = await checkExchange(x, jwks);
  await checkHeads(exchanges.filter((x) => x.logCheck === null));
}

/** Where the app keeps the largest signed tree head it accepted (issue 14 review, H1 b). */
const KEPT_HEAD = "tungban-log-head";

/** The platform's public log endpoints (no device proof). */
async function getJson(path, params) {
  const r = await fetch(path + "?" + new URLSearchParams(params), { headers: { Accept: "application/json" } });
  if (!r.ok) throw new Error("HTTP " + r.status);
  return r.json();
}

/** Each verified exchange's signed tree head must be published and extend the largest head this
 * app accepted before (kept in localStorage); otherwise the exchange is not verified, with why:
 * "unpublished", "rollback" or "inconsistent" (issue 14 review, H1 b and c). */
async function checkHeads(verified) {
  const heads = new Map(verified.map((x) => [x.log.tree_head.signature, x.log.tree_head]));
  const problems = new Map();
  for (const [signature, head] of [...heads].sort((a, b) => a[1].tree_size - b[1].tree_size)) {
    let kept = null;
    try { kept = JSON.parse(localStorage.getItem(KEPT_HEAD) || "null"); } catch (e) { kept = null; }
    const { problem, keep } = await checkHead(head, kept, getJson);
    problems.set(signature, problem);
    if (keep) localStorage.setItem(KEPT_HEAD, JSON.stringify(keep));
  }
  for (const x of verified) x.logCheck = problems.get(x.log.tree_head.signature) || null;
}

/** A notice about the account (issue 13 item 1), e.g. a counter re-binding it; the text comes translated. */
function noticeItem(n) {
  return el("li", { class: "item notice", "data-kind": "notice", "data-notice": n.kind },
    el("div", { class: "item-head" }, el("strong", { text: n.title })),
    el("time", { datetime: n.created_at, class: "hint", text: dateTime(n.created_at) }),
    el("p", { text: n.text }));
}

/** Show each notice once, on the first open of the app after it was made (ids only grow);
 * a phone bound after a notice (e.g. the new phone of a re-binding) only lists it in the history. */
function alertNewNotices(notices) {
  const key = "tungban-notice-seen:" + state.device.deviceId;
  const seen = Number(localStorage.getItem(key) || 0);
  const boundAt = Date.parse(state.device.boundAt) || 0;
  const fresh = notices.filter((n) => n.id > seen && Date.parse(n.created_at) > boundAt);
  if (!fresh.length) return;
  $("alert").textContent = fresh.map((n) => n.text).join(" ");
  localStorage.setItem(key, String(Math.max(...fresh.map((n) => n.id))));
}

/** Who used my data: releases to services and exchanges between organisations, and notices about the account, newest first. */
function renderHistory(releases, exchanges, notices) {
  const entries = (releases || []).map((h) => ({ at: timeOf(h.released_at), node: () => releaseItem(h) }))
    .concat((exchanges || []).map((x) => ({ at: timeOf(x.at), node: () => exchangeItem(x) })))
    .concat((notices || []).map((n) => ({ at: timeOf(n.created_at), node: () => noticeItem(n) })));
  entries.sort((a, b) => b.at - a.at);
  $("history").replaceChildren(...entries.map((e) => e.node()));
  $("history-empty").hidden = entries.length > 0;
}

export async function showHome() {
  const device = state.device;
  state.homeLoadedAt = Date.now();
  renderAccount(device.resident);
  $("device-info").textContent = fmt(T.device_info, { date: dateTime(device.boundAt) });
  show("screen-home");
  // One call after another: each carries its own single-use proof, and the screen fills in order.
  const settle = (promise) => promise.then((value) => ({ status: "fulfilled", value }), (reason) => ({ status: "rejected", reason }));
  const me = await settle(api("GET", "/me", { device }));
  const pending = await settle(api("GET", "/pending", { device }));
  const past = await settle(api("GET", "/history", { device }));
  const exchanges = await settle(api("GET", "/app/history", { device, base: config.exchangeApi }));
  const notices = await settle(api("GET", "/notices", { device }));
  const failed = [me, pending, past, exchanges, notices].find((r) => r.status === "rejected");
  if (failed) {
    if (failed.reason && failed.reason.code === "device_unbound") { await lostBinding(failed.reason.message); return; }
    showError(failed.reason);
  }
  if (me.status === "fulfilled") {
    renderProfile(me.value);
    renderAccount(me.value.resident);
    if (JSON.stringify(device.resident) !== JSON.stringify(me.value.resident)) {
      device.resident = me.value.resident;
      saveDevice(device).catch(() => {});
    }
  }
  if (pending.status === "fulfilled") renderPending(pending.value);
  if (exchanges.status === "fulfilled") await checkLog(exchanges.value);
  if (past.status === "fulfilled" || exchanges.status === "fulfilled") {
    renderHistory(past.status === "fulfilled" ? past.value : [], exchanges.status === "fulfilled" ? exchanges.value : [],
      notices.status === "fulfilled" ? notices.value : []);
  }
  if (notices.status === "fulfilled") alertNewNotices(notices.value);
}

export async function onSaveProfile(event) {
  event.preventDefault();
  await busy([$("profile-save")], async () => {
    const me = await api("PATCH", "/me", {
      device: state.device,
      body: {
        phone: $("profile-phone").value.trim(), email: $("profile-email").value.trim(),
        residential_address: $("profile-residential-address").value.trim(), billing_address: $("profile-billing-address").value.trim(),
      },
    });
    renderProfile(me);
    $("profile-edit").open = false;
    notify(T.saved);
  }, "profile");
}

export function onScan(event) {
  event.preventDefault();
  clearMessages();
  const id = requestIdFrom($("scan-url").value);
  if (!id) {
    $("scan-url").setAttribute("aria-invalid", "true");
    showError(new AppError("bad_link", T.bad_link));
    $("scan-url").focus();
    return;
  }
  window.location.assign(config.home + "approve/" + id);
}
