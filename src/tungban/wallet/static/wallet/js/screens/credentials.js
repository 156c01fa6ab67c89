/* E-licences (電子證照, #credentials, #credentials/<id>, #credentials/<id>/present): SD-JWT VCs
 * bound to the device key (cnf.jwk); showing one builds a presentation and its QR code here. */

import { AppError, api, apiFetch } from "../lib/api.js";
import { publicJwk } from "../lib/jose.js";
import { T, fmt } from "../lib/messages.js";
import { qrDataUrl } from "../lib/qr.js";
import { initiallyTicked, presetsFor } from "../lib/presets.js";
import { buildPresentation, cnfJwk } from "../lib/sdjwt.js";
import { loadRecord, saveRecord } from "../lib/store.js";
import { config, state } from "../state.js";
import { $, busy, el, notify, onShow, paint, show, showError } from "../ui/dom.js";
import { claimText, dateTime, listText, mmss } from "../ui/format.js";
import { lostBinding } from "./bind.js";

export const CREDENTIAL_ROUTE = /^#credentials(?:\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(\/present)?)?$/i;
/** The IndexedDB record of the e-licences last fetched: shown when the phone is offline. */
const CACHE_KEY = "credentials";
const DEFAULT_MAX_AGE = 300; // seconds; each credential says presentation_max_age (TUNGBAN_PRESENTATION_MAX_AGE)
const COLOUR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

/** "valid", "suspended", "revoked" or "expired": a revocation or suspension comes first. */
const credentialState = (c) => (c.status !== "valid" ? c.status : c.expired ? "expired" : "valid");

/** The issuing department's card colours (checked: #rgb or #rrggbb only). */
function paintCard(node, c) {
  const bg = COLOUR.test(c.background || "") ? c.background : "#0b5d4b";
  const fg = COLOUR.test(c.text_color || "") ? c.text_color : "#ffffff";
  return paint(node, bg, fg);
}

function stateBadge(c, id) {
  const st = credentialState(c);
  return el("span", { class: "credential-badge state-" + st, id: id || null, "data-status": st, text: T["cred_" + st] || st });
}

/** Whether the e-licence is bound to this phone's key: "here", "elsewhere" or "unbound". */
async function bindingOf(c) {
  const cnf = cnfJwk(c.sd_jwt);
  if (!cnf) return "unbound";
  const mine = await publicJwk(state.device.keyPair);
  return cnf.x === mine.x && cnf.y === mine.y ? "here" : "elsewhere";
}

function credentialItem(c) {
  const titleId = "credential-" + c.id + "-name";
  return el("li", { class: "credential-item", "data-credential-id": c.id, "data-type": c.type, "data-status": credentialState(c) },
    paintCard(el("a", { class: "credential-card", href: config.home + "#credentials/" + c.id },
      el("span", { class: "credential-issuer", text: c.issuer_name }),
      el("span", { class: "credential-name", id: titleId, text: c.type_name }),
      el("span", { class: "credential-state" }, stateBadge(c, titleId + "-state")),
      el("span", { class: "credential-go", "aria-hidden": "true", text: T.cred_open })), c));
}

/** The e-licences from the platform, kept on the phone; offline (a network error), the copy
 * kept last time, with ``state.credentialsOffline`` set to when it was fetched (issue 16: cards
 * disappeared offline without explanation). Other errors are thrown. */
async function loadCredentials() {
  try {
    state.credentials = await api("GET", "/app/credentials", { device: state.device, base: config.credentialsApi });
    state.credentialsOffline = null;
    saveRecord(CACHE_KEY, { at: Date.now(), items: state.credentials }).catch(() => {});
  } catch (err) {
    if (!err || err.code !== "network") throw err;
    let kept = null;
    try { kept = await loadRecord(CACHE_KEY); } catch (e) { kept = null; }
    if (!kept || !Array.isArray(kept.items)) throw err;
    state.credentials = kept.items;
    state.credentialsOffline = kept.at;
  }
  state.credentialsAt = Date.now();
  showOffline();
  return state.credentials;
}

/** The offline notes on the e-licence screens: what works without a connection. */
function showOffline() {
  const at = state.credentialsOffline;
  document.querySelectorAll(".credentials-offline").forEach((node) => {
    node.hidden = !at;
    node.textContent = at ? fmt(T.cred_offline, { time: dateTime(new Date(at).toISOString()) }) : "";
  });
  if (at) $("download-pdf").setAttribute("aria-describedby", "credential-offline");
  else $("download-pdf").removeAttribute("aria-describedby");
  $("download-pdf").disabled = Boolean(at);
}

async function showCredentials() {
  show("screen-credentials");
  $("credentials").replaceChildren();
  $("credentials-empty").hidden = true;
  await busy([], async () => {
    const items = await loadCredentials();
    $("credentials").replaceChildren(...items.map(credentialItem));
    $("credentials-empty").hidden = items.length > 0;
  });
}

/** The credential ``id`` from a list fetched in the last few seconds, or from a fresh one
 * (a department may have revoked or suspended it meanwhile). */
async function findCredential(id) {
  const lower = String(id).toLowerCase();
  const recent = Date.now() - state.credentialsAt < 15000 || state.credentialsOffline;
  let found = recent ? (state.credentials || []).find((c) => c.id === lower) : null;
  if (!found) found = (await loadCredentials()).find((c) => c.id === lower);
  if (!found) throw new AppError("credential_unknown", T.cred_unknown);
  return found;
}

async function showCredential(id) {
  const c = await findCredential(id);
  state.credential = c;
  const st = credentialState(c);
  paintCard($("credential-card"), c);
  $("credential-card").dataset.credentialId = c.id;
  $("credential-card").dataset.status = st;
  $("credential-issuer").textContent = fmt(T.cred_issued_by, { issuer: c.issuer_name });
  $("credential-title").textContent = c.type_name;
  $("credential-status").replaceWith(stateBadge(c, "credential-status"));
  $("credential-claims").replaceChildren(...c.claims.map((claim) =>
    el("div", { "data-claim": claim.name }, el("dt", { text: claim.label }), el("dd", { text: claimText(claim) }))));
  $("credential-issued-at").textContent = dateTime(c.issued_at);
  $("credential-expires-at").textContent = c.expires_at ? dateTime(c.expires_at) : T.cred_no_expiry;
  const binding = await bindingOf(c);
  const warning = st === "revoked" ? fmt(T.cred_revoked_warning, { issuer: c.issuer_name })
    : st === "suspended" ? fmt(T.cred_suspended_warning, { issuer: c.issuer_name })
    : st === "expired" ? T.cred_expired_warning
    : binding === "elsewhere" ? fmt(T.cred_other_device, { issuer: c.issuer_name })
    : binding === "unbound" ? T.cred_unbound : "";
  $("credential-warning").textContent = warning;
  $("credential-warning").hidden = !warning;
  $("credential-warning").classList.toggle("note", st === "valid" && binding === "unbound");
  const canPresent = st === "valid" && binding !== "elsewhere";
  $("present-button").disabled = !canPresent;
  if (canPresent) $("present-button").removeAttribute("aria-describedby");
  else $("present-button").setAttribute("aria-describedby", "credential-warning");
  show("screen-credential");
}

async function showPresent(id) {
  const c = await findCredential(id);
  state.credential = c;
  if (credentialState(c) !== "valid" || (await bindingOf(c)) === "elsewhere") {
    // Nothing to show: the details screen says why.
    history.replaceState(null, "", config.home + "#credentials/" + c.id);
    await showCredential(c.id);
    return;
  }
  $("present-back").setAttribute("href", config.home + "#credentials/" + c.id);
  $("present-type").textContent = c.type_name + " · " + c.issuer_name;
  // Nothing ticked unless the checker asked for it (issue 16); an age threshold in one tap.
  const ticked = new Set(initiallyTicked(c.claims, state.requestedClaims || []));
  $("present-presets").replaceChildren(...presetsFor(c.claims).map((p) =>
    el("button", { type: "button", class: "btn block preset", "data-preset": p.name, text: fmt(T.present_only, { claim: p.label }) })));
  $("present-presets").hidden = !$("present-presets").children.length;
  $("present-claims").replaceChildren(...c.claims.map((claim, i) => {
    const id = "disclose-" + i;
    return el("li", { class: "claim" },
      el("input", { type: "checkbox", name: "disclose", value: claim.name, id, checked: ticked.has(claim.name), "aria-describedby": id + "-value" }),
      el("label", { for: id },
        el("span", { class: "claim-label", text: claim.label }),
        el("span", { class: "claim-value", id: id + "-value", text: claimText(claim) })));
  }));
  resetPresentation();
  show("screen-present");
}

function stopPresentation() {
  if (state.presentTimer) clearInterval(state.presentTimer);
  state.presentTimer = null;
}
onShow((id) => { if (id !== "screen-present") stopPresentation(); });

/** Hide the QR code and forget it (e.g. when the ticked details change). */
export function resetPresentation() {
  stopPresentation();
  $("presentation").hidden = true;
  delete $("presentation").dataset.expired;
  $("presentation-qr").hidden = true;
  $("presentation-qr").src = "data:,";
  $("presentation-text").value = "";
  $("presentation-link").setAttribute("href", "#");
}

function startPresentTimer(end) {
  stopPresentation();
  const tick = () => {
    const left = (end - Date.now()) / 1000;
    $("presentation-countdown").textContent = left > 0 ? fmt(T.present_time_left, { time: mmss(left) }) : T.present_expired;
    $("presentation-countdown").classList.toggle("urgent", left <= 30);
    if (left <= 0) {
      stopPresentation();
      $("presentation").dataset.expired = "true";
      notify(T.present_expired);
    }
  };
  tick();
  state.presentTimer = setInterval(tick, 1000);
}

export async function onPresent(event) {
  if (event) event.preventDefault();
  const c = state.credential;
  if (!c) return;
  await busy([$("present-submit"), $("present-again")], async () => {
    resetPresentation();
    const names = Array.from(document.querySelectorAll("#present-claims input[name=disclose]")).filter((i) => i.checked).map((i) => i.value);
    const bound = (await bindingOf(c)) === "here";
    const { text, iat } = await buildPresentation(c.sd_jwt, names, {
      privateKey: bound ? state.device.keyPair.privateKey : null,
      aud: c.aud || String(c.verify_uri).replace(/\/+$/, ""),
      // 認證易's verifier code (issue 13 item 12), as the platform normalises it: "k7q2-m9xd" -> "K7Q2M9XD".
      nonce: $("present-nonce").value.toUpperCase().replace(/[^A-Z0-9]/g, "") || undefined,
    });
    const link = c.verify_uri + "#vc=" + text;
    const maxAge = Number(c.presentation_max_age) || DEFAULT_MAX_AGE;
    let qrUrl = null;
    let qrError = null;
    try {
      qrUrl = qrDataUrl(link);
      if (!qrUrl) qrError = new AppError("qr_too_large", T.qr_too_large);
    } catch (err) {
      qrError = err; // still show the link and the text
    }
    const labels = c.claims.filter((x) => names.includes(x.name)).map((x) => x.label);
    $("presentation-shows").textContent = labels.length ? fmt(T.present_shows, { claims: listText(labels) }) : fmt(T.present_shows_nothing, { type: c.type_name });
    if (qrUrl) {
      $("presentation-qr").src = qrUrl;
      $("presentation-qr").alt = fmt(T.qr_alt, { type: c.type_name });
      $("presentation-qr").hidden = false;
    }
    $("presentation-text").value = text;
    $("presentation-link").setAttribute("href", link);
    $("presentation").dataset.disclosed = names.join(" ");
    $("presentation").hidden = false;
    if (iat) {
      startPresentTimer((iat + maxAge) * 1000);
    } else {
      $("presentation-countdown").textContent = T.present_no_expiry;
    }
    $("presentation-title").focus();
    $("presentation").scrollIntoView({ block: "start" });
    if (qrError) showError(qrError);
  });
}

/** A one-tap preset: tick only the claim ``name`` and show the QR code at once. */
export async function onPreset(event) {
  const button = event.target.closest("button[data-preset]");
  if (!button) return;
  document.querySelectorAll("#present-claims input[name=disclose]").forEach((i) => { i.checked = i.value === button.dataset.preset; });
  await onPresent();
}

/** The credential as a PDF from the platform, saved as a file. */
export async function onDownloadPdf() {
  const c = state.credential;
  if (!c) return;
  await busy([$("download-pdf")], async () => {
    const resp = await apiFetch("GET", "/app/credentials/" + encodeURIComponent(c.id) + "/pdf", { device: state.device, base: config.credentialsApi, accept: "application/pdf" });
    const blob = await resp.blob();
    const match = /filename\*=UTF-8''([^;]+)|filename="?([^";]+)"?/i.exec(resp.headers.get("Content-Disposition") || "");
    let name = c.type + "-" + c.id.slice(0, 8) + ".pdf";
    if (match) { try { name = decodeURIComponent(match[1] || match[2]); } catch (e) { /* keep the default */ } }
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    notify(fmt(T.pdf_saved, { name }));
  });
}

/** ``#credentials``, ``#credentials/<id>`` or ``#credentials/<id>/present``. */
export async function showCredentialRoute(match) {
  try {
    if (!match[1]) await showCredentials();
    else if (match[2]) await showPresent(match[1]);
    else await showCredential(match[1]);
  } catch (err) {
    if (err && err.code === "device_unbound") { await lostBinding(err.message); return; }
    if (err && err.code === "credential_unknown") {
      history.replaceState(null, "", config.home + "#credentials");
      await showCredentials();
    } else if (!match[1]) {
      throw err;
    }
    showError(err);
  }
}
