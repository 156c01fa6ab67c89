/* Approving a request (/app/approve/<id>): log-in, form filling, signing documents, a
 * data-sharing consent; the passkey, then the decision JWS; the result screen. */

import { AppError, api } from "../lib/api.js";
import { comparisonCode, displayCode } from "../lib/compare.js";
import { documentPages } from "./docpages.js";
import { codeComplete, decisionPayload, documentsMatch, normalizeCode, termsMatch } from "../lib/decision.js";
import { signJws } from "../lib/jose.js";
import { T, fmt } from "../lib/messages.js";
import { credentialJson, getAssertion } from "../lib/webauthn.js";
import { state } from "../state.js";
import { $, busy, el, notify, onShow, show } from "../ui/dom.js";
import { dateTime, durationText, fieldLabel, mmss, otherName, partyName, serviceName, usesText } from "../ui/format.js";
import { claimLabel, kindLabel } from "../ui/strings.js";

let approveLabel = ""; // the Approve button's own (translated) text; signing requests relabel it

function stopTimer() {
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
}
onShow((id) => { if (id !== "screen-approve") stopTimer(); });

function startTimer(expiresAt) {
  stopTimer();
  const end = Date.parse(expiresAt);
  $("countdown-announce").textContent = "";
  let warned = null; // the last warning given: a screen reader hears each once (issue 16)
  const tick = () => {
    const left = (end - Date.now()) / 1000;
    $("countdown").textContent = fmt(T.time_left, { time: mmss(left) });
    $("countdown").classList.toggle("urgent", left <= 30);
    const warning = timerWarning(left);
    if (warning && warning !== warned) {
      warned = warning;
      $("countdown-announce").textContent = T[warning];
    }
    if (left <= 0) {
      stopTimer();
      showResult("expired");
    }
  };
  tick();
  state.timer = setInterval(tick, 1000);
}

/** The warning a screen reader gets at ``left`` seconds: ``time_warn_minute`` (60 s or less),
 * ``time_warn_soon`` (20 s or less), or ``null`` (WCAG 2.2.1; issue 16). */
function timerWarning(left) {
  if (left <= 0) return null;
  if (left <= 20) return "time_warn_soon";
  if (left <= 60) return "time_warn_minute";
  return null;
}

/** A SHA-256 digest (hex) in groups of 8 characters that wrap only between groups. */
function digestNode(hex) {
  const text = String(hex || "").toLowerCase();
  const node = el("code", { class: "digest", translate: "no" });
  for (let i = 0; i < text.length; i += 8) {
    if (i) node.append(el("wbr"));
    node.append(el("span", { text: text.slice(i, i + 8) }));
  }
  return node;
}

function renderDocuments(req) {
  const docs = Array.isArray(req.documents) ? req.documents : [];
  const signing = req.kind === "sign";
  $("sign-details").hidden = !signing;
  $("claims-set").hidden = signing && req.claims.length === 0;
  $("claims-hint").hidden = signing;
  $("approve-button").textContent = signing ? T.approve_sign : approveLabel;
  if (!signing) {
    $("documents").replaceChildren();
    return;
  }
  $("documents").replaceChildren(...docs.map((d, i) => {
    const id = "document-" + i;
    return el("li", { class: "document", id },
      el("p", { class: "document-name" },
        docs.length > 1 ? el("span", { class: "document-number", text: (i + 1) + "." }) : null,
        el("span", { text: d.name })),
      req.document_pages ? documentPages(req, i, d.name) : null,
      el("details", { class: "digest-details" },
        el("summary", { class: "digest-label", id: id + "-label", text: T.digest_label }),
        digestNode(d.sha256)));
  }));
  $("compare-code").textContent = "";
  comparisonCode(req.id, docs.map((d) => d.sha256)).then((code) => {
    if (state.request === req) $("compare-code").textContent = displayCode(code);
  });
  $("sign-reason").hidden = !req.reason;
  $("sign-reason").textContent = req.reason ? fmt(T.sign_reason, { reason: req.reason }) : "";
  const resident = (state.device && state.device.resident) || {};
  const name = [resident.name_en, resident.name_zh].filter(Boolean).join(" ");
  $("sign-signer").textContent = name ? fmt(T.sign_as, { name }) : "";
  $("sign-needs-plus").hidden = !resident.tier || resident.tier === "plus";
}

/** A data-sharing consent's terms (kind "consent"); otherwise hides the section. */
function renderConsentTerms(req) {
  const c = req.kind === "consent" ? req.consent : null;
  $("consent-details").hidden = !c;
  if (!c) return;
  $("claims-set").hidden = req.claims.length === 0;
  $("claims-hint").hidden = req.claims.length === 0;
  $("approve-button").textContent = T.approve_consent;
  const user = partyName(c.data_user);
  const provider = partyName(c.data_provider);
  $("consent-summary").textContent = fmt(T.consent_summary, { user, provider });
  $("consent-data-user").textContent = user;
  $("consent-data-provider").textContent = provider;
  $("consent-product").textContent = partyName(c.product);
  $("consent-fields").replaceChildren(...((c.product && c.product.fields) || []).map((f) => el("li", { "data-field": f.name, text: fieldLabel(f) })));
  $("consent-purpose").textContent = c.purpose;
  $("consent-duration").textContent = fmt(T.duration_once_given, { duration: durationText(c.duration_seconds) });
  $("consent-uses").textContent = usesText(c.max_uses);
}

/** The lines a requester asks the app to show (``req.details``: ``[{label, value}]``, in the
 * app's language) under the kind's question; a request that asks for no e-ME fields then shows
 * no field list. */
function renderDetails(req) {
  const lines = Array.isArray(req.details) ? req.details : [];
  $("request-details-section").hidden = lines.length === 0;
  $("request-details").replaceChildren(...lines.map((d) => el("div", {},
    el("dt", { text: d.label }), el("dd", { text: d.value }))));
  if (!lines.length) return;
  $("request-details-title").textContent = T["question_" + req.kind] || "";
  if (req.claims.length === 0) {
    $("claims-set").hidden = true;
    $("claims-hint").hidden = true;
  }
}

/** A question the requester asks in the approval (``req.choice``: ``{legend, options: [{id, label,
 * detail}], none}``, e.g. which company to act for): one radio button per option, the first
 * chosen; with no option, the platform's explanation (``none``) and only "Decline" makes sense,
 * but approving still tells the service why (the platform refuses it with its reason). */
function renderChoice(req) {
  const c = req.choice;
  $("choice-set").hidden = !c;
  $("choice-none").hidden = true;
  $("choice-options").replaceChildren();
  if (!c) return;
  $("choice-legend").textContent = c.legend;
  const options = Array.isArray(c.options) ? c.options : [];
  $("choice-options").replaceChildren(...options.map((o, i) => {
    const id = "choice-" + i;
    return el("li", { class: "claim choice" },
      el("input", { type: "radio", name: "choice", value: o.id, id, checked: i === 0, "aria-describedby": id + "-detail" }),
      el("label", { for: id },
        el("span", { class: "claim-label", text: o.label }),
        el("span", { class: "claim-value", id: id + "-detail", text: o.detail || "" })));
  }));
  if (!options.length) {
    $("choice-none").hidden = false;
    $("choice-none").textContent = c.none;
  }
  // The claim the choice answers is not a detail of the resident's to untick.
  for (const input of document.querySelectorAll("#claims input[name=claim]")) {
    if (c.claim && input.value === c.claim && input.disabled) input.closest("li").hidden = true;
  }
  if (req.claims.every((cl) => cl.name === c.claim)) {
    $("claims-set").hidden = true;
    $("claims-hint").hidden = true;
  }
}

/** The chosen option's id, or ``null``. */
function chosenOption() {
  const picked = document.querySelector("#choice-options input[name=choice]:checked");
  return picked ? picked.value : null;
}

/** Where a request shown on a sign-in page came from (``req.origin``: when, which browser,
 * from which network address, as the platform saw that page opened), and the field for the
 * number that page shows (``req.code_required``). Issue 13 item 6. */
function renderOrigin(req) {
  const o = req.origin;
  $("origin").hidden = !o;
  $("code-set").hidden = !req.code_required;
  $("approve-code").value = "";
  $("approve-code").removeAttribute("aria-invalid");
  if (!o) return;
  $("origin-service").textContent = serviceName(req.requester.name_en, req.requester.name_zh);
  const minutes = Math.floor((Date.now() - Date.parse(o.started_at)) / 60000);
  const ago = minutes >= 1 ? fmt(T.minutes_ago, { n: minutes }) : T.just_now;
  $("origin-time").textContent = fmt(T.origin_opened, { time: dateTime(o.started_at), ago });
  const browser = o.browser && o.os ? fmt(T.origin_browser, { browser: o.browser, os: o.os }) : o.browser || o.os;
  $("origin-browser").textContent = browser || T.unknown_browser;
  $("origin-ip-row").hidden = !o.ip;
  $("origin-ip").textContent = o.ip || "";
}

function renderRequest(req) {
  const r = req.requester;
  $("request-service").textContent = serviceName(r.name_en, r.name_zh);
  $("request-service-other").textContent = otherName(r.name_en, r.name_zh);
  const logo = $("request-logo");
  if (r.logo_url && /^https?:\/\//.test(r.logo_url)) { logo.src = r.logo_url; logo.hidden = false; } else { logo.hidden = true; }
  $("request-kind").textContent = kindLabel(req.kind);
  $("request-question").textContent = T["question_" + req.kind] || T.question_login;
  $("claims").replaceChildren(...req.claims.map((c, i) => {
    const id = "claim-" + i;
    let value = c.value;
    if (c.name === "gender") value = T["gender_" + value] || value;
    const input = el("input", { type: "checkbox", name: "claim", value: c.name, id, checked: true, disabled: c.essential,
      "aria-describedby": id + "-value" });
    return el("li", { class: "claim" + (c.essential ? " essential" : "") },
      input,
      el("label", { for: id },
        el("span", { class: "claim-label", text: c.label || claimLabel(c.name) }),
        el("span", { class: "badge" + (c.essential ? " required" : ""), text: c.essential ? T.required : T.optional }),
        el("span", { class: "claim-value" + (value ? "" : " empty"), id: id + "-value", text: value || T.empty_value })));
  }));
  renderDocuments(req);
  renderConsentTerms(req);
  renderDetails(req);
  renderChoice(req);
  renderOrigin(req);
  const days = req.offline_access_days;
  $("offline-access").hidden = !days;
  $("offline-access").textContent = days ? fmt(T.offline_access, { days }) : "";
}

export async function showApproval(id) {
  const req = await api("GET", "/requests/" + encodeURIComponent(id), { device: state.device });
  state.request = req;
  renderRequest(req);
  if (req.status !== "pending") {
    // A sign-in request fails only when the number was typed wrong too many times.
    showResult(req.status === "failed" && req.code_required ? "code_failed" : req.status);
    return;
  }
  show("screen-approve");
  // Opened from a link or a QR code, the approval is the app's first screen: move the focus to
  // its heading and say what is asked, whichever screen came before (issue 16).
  $("approve-title").focus();
  notify(fmt(T.approval_opened, { service: serviceName(req.requester.name_en, req.requester.name_zh), kind: kindLabel(req.kind) }));
  startTimer(req.expires_at);
}

/** The final screen. ``detail``: the platform's message when signing failed. */
function showResult(status, detail) {
  stopTimer();
  const req = state.request;
  const service = req ? serviceName(req.requester.name_en, req.requester.name_zh) : "";
  const signing = !!req && req.kind === "sign";
  const consent = !!req && req.kind === "consent";
  let title;
  let message;
  if (status === "approved" && consent) {
    title = T.consent_approved_title;
    message = fmt(T.consent_approved_message, { service });
  } else if (status === "approved") {
    title = signing ? T.sign_approved_title : T.approved_title;
    message = fmt(signing ? T.sign_approved_message : T.approved_message, { service });
  } else if (status === "declined") {
    title = T.declined_title;
    message = fmt(signing ? T.sign_declined_message : consent ? T.consent_declined_message : T.declined_message, { service });
  } else if (status === "expired") {
    title = T.expired_title;
    message = signing ? T.sign_expired_message : T.expired_message;
  } else if (status === "code_failed") {
    title = T.code_failed_title;
    message = T.code_failed_message;
  } else if (status === "refused") {
    // The platform refused the answer to the request's question (e.g. no company to act for).
    title = T.refused_title;
    message = detail || "";
  } else if (status === "failed") {
    // Approved, but the platform could not sign (e.g. plus_required, certificate_revoked).
    title = T.sign_failed_title;
    message = detail || T.sign_failed_message;
  } else { title = T.answered_title; message = T.answered_message; }
  $("result").dataset.status = status;
  $("result-icon").textContent = status === "approved" ? "✓" : ["declined", "failed", "refused"].includes(status) ? "✕" : "!";
  $("result-heading").textContent = title;
  $("result-message").textContent = message;
  // Opened from the service's page on this phone ("Open the app"): offer to go back to it.
  $("result-close").hidden = !window.opener;
  $("result-consents").hidden = !(consent && status === "approved");
  show("result");
}

async function decide(decision) {
  const req = state.request;
  if (!req) return;
  const buttons = [$("approve-button"), $("decline-button")];
  await busy(buttons, async () => {
    // What you see is what you sign: the digest must be that of the terms shown.
    if (decision === "approve" && !(await termsMatch(req))) throw new AppError("terms_mismatch", T.terms_mismatch);
    if (decision === "approve" && !documentsMatch(req)) throw new AppError("documents_mismatch", T.documents_mismatch);
    // The number on the sign-in page, before anything is signed (a decline needs none).
    const code = decision === "approve" && req.code_required ? normalizeCode($("approve-code").value) : null;
    if (code !== null && !codeComplete(code)) throw new AppError("code_required", T.code_missing, "code");
    const claims = decision === "approve"
      ? Array.from(document.querySelectorAll("#claims input[name=claim]")).filter((i) => i.checked).map((i) => i.value)
      : [];
    // User verification first: the passkey's challenge is the request's nonce.
    const assertion = req.webauthn ? credentialJson(await getAssertion(req.webauthn)) : null;
    const payload = decisionPayload(req, decision, claims, code, decision === "approve" && req.choice ? chosenOption() : undefined);
    const signature = await signJws({ alg: "ES256", kid: state.device.deviceId }, payload, state.device.keyPair.privateKey);
    try {
      const out = await api("POST", "/requests/" + encodeURIComponent(req.id) + "/decision", { device: state.device, body: { signature, webauthn: assertion } });
      showResult(out.status);
    } catch (err) {
      if (err.code === "request_expired") { showResult("expired"); return; }
      if (err.code === "request_already_decided") { showResult("answered"); return; }
      if (err.code === "code_attempts_exceeded") { showResult("code_failed"); return; }
      if (err.code === "wrong_code") $("approve-code").value = "";
      if (req.choice && decision === "approve" && err.status === 403) {
        // The answer to the question was refused (no company, a mandate no longer in force):
        // the request is now "failed"; the service is told why.
        let now = null;
        try { now = await api("GET", "/requests/" + encodeURIComponent(req.id), { device: state.device }); } catch (e) { now = null; }
        if (now && now.status === "failed") { showResult("refused", err.message); return; }
      }
      if (req.kind === "sign" && decision === "approve" && err.status >= 400 && err.status !== 401) {
        // The approval was recorded but signing was refused (plus_required,
        // certificate_revoked, ...): the request is now "failed" and cannot be retried.
        let now = null;
        try { now = await api("GET", "/requests/" + encodeURIComponent(req.id), { device: state.device }); } catch (e) { now = null; }
        if (now && now.status === "failed") { showResult("failed", err.message); return; }
      }
      throw err;
    }
  }, "approve");
}

/** Wire the approval form's buttons (once, at start). */
export function initApprove() {
  approveLabel = $("approve-button").textContent;
  $("approve-form").addEventListener("submit", (e) => { e.preventDefault(); decide("approve"); });
  $("decline-button").addEventListener("click", () => decide("decline"));
  $("result-close").addEventListener("click", () => {
    try { if (window.opener) window.opener.focus(); } catch (e) { /* cross-origin opener */ }
    window.close();
  });
}
