/* tungban app (web): binds this phone to an account and approves requests from services.
 *
 * Protocol (see tungban/wallet/services.py; the CLI app in wallet/cli.py speaks the same):
 *  - device key: ECDSA P-256 made by WebCrypto, NOT extractable; the CryptoKeyPair object is
 *    kept in IndexedDB (structured clone keeps the private key unreadable by script);
 *  - binding proof, decisions and API-call proofs are JWS compact, ES256;
 *  - a passkey (WebAuthn) confirms the binding and every decision (user verification);
 *  - a signing request (kind "sign") lists documents by name and SHA-256; the signed decision
 *    then also carries "documents": the digests in order (what the resident signs);
 *  - a data-sharing consent (kind "consent") shows its terms (data user, data provider, data
 *    product, purpose, duration, uses); the signed decision carries "terms": the SHA-256 of the
 *    terms' canonical JSON, which the app recomputes from what it shows before signing.
 * The consents ("Data sharing", /app/#consents) and the exchanges in the history come from the
 * exchange gateway's app API (/api/v1/exchange/app/...), with the same device proofs.
 * E-licences (電子證照, /app/#credentials) come from /api/v1/credentials/app/...: SD-JWT VCs bound to
 * the device key (cnf.jwk). "Show to verify" builds a presentation here (SD-JWT §4 and §7.3):
 * the issuer-signed JWT, the disclosures of the ticked claims only, and a key-binding JWT
 * (typ kb+jwt; aud = 認證易, nonce, iat, sd_hash) signed with the device key. The QR code of the
 * 認證易 link is drawn here too (vendor/qrcode-generator.js): the platform never sees what is shown.
 * Plain modern JavaScript, no build step.
 */
(function () {
  "use strict";

  const root = document.getElementById("app");
  if (!root) return;
  const API = root.dataset.api || "/api/v1/wallet";
  const EXCHANGE_API = root.dataset.exchangeApi || "/api/v1/exchange";
  const CREDENTIALS_API = root.dataset.credentialsApi || "/api/v1/credentials";
  const HOME = root.dataset.home || "/app/";
  const approvalId = root.dataset.approvalId || "";
  const $ = (id) => document.getElementById(id);
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const isEn = (document.documentElement.lang || "").toLowerCase().startsWith("en");
  const locale = isEn ? "en-HK" : "zh-HK";

  // --- translated strings (rendered by the template) -------------------------------------
  const T = {};
  const CLAIM = {};
  const OUTCOME = {};
  const strings = $("i18n");
  if (strings) {
    strings.content.querySelectorAll("[data-k]").forEach((el) => { T[el.dataset.k] = el.textContent.trim(); });
    strings.content.querySelectorAll("[data-claim]").forEach((el) => { CLAIM[el.dataset.claim] = el.textContent.trim(); });
    strings.content.querySelectorAll("[data-outcome]").forEach((el) => { OUTCOME[el.dataset.outcome] = el.textContent.trim(); });
  }
  const fmt = (text, vars) => String(text || "").replace(/\{(\w+)\}/g, (m, k) => (k in vars ? vars[k] : m));
  const claimLabel = (name) => CLAIM[name] || name;

  // --- encoding ------------------------------------------------------------------------------
  function b64u(data) {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let bin = "";
    for (let i = 0; i < bytes.length; i += 1) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function b64uDecode(text) {
    const s = String(text).replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(s + "=".repeat((4 - (s.length % 4)) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i += 1) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  const randomId = () => b64u(crypto.getRandomValues(new Uint8Array(18)));

  // --- device key and JWS --------------------------------------------------------------------
  async function newDeviceKey() {
    return crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  }
  async function publicJwk(keyPair) {
    const jwk = await crypto.subtle.exportKey("jwk", keyPair.publicKey);
    return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
  }
  /** JWS compact serialisation, ES256. WebCrypto's ECDSA signature is already r||s (64 bytes). */
  async function signJws(header, payload, privateKey) {
    const input = b64u(enc.encode(JSON.stringify(header))) + "." + b64u(enc.encode(JSON.stringify(payload)));
    const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, enc.encode(input));
    return input + "." + b64u(sig);
  }

  // --- storage (IndexedDB) -------------------------------------------------------------------
  const DB_NAME = "tungban-app";
  const STORE = "device";
  function openDb() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  async function withStore(mode, fn) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => { db.close(); resolve(req ? req.result : undefined); };
      tx.onerror = tx.onabort = () => { db.close(); reject(tx.error); };
    });
  }
  const loadDevice = () => withStore("readonly", (s) => s.get("current"));
  const saveDevice = (device) => withStore("readwrite", (s) => s.put(device, "current"));
  const forgetDevice = () => withStore("readwrite", (s) => s.delete("current"));

  // --- API -------------------------------------------------------------------------------------
  class AppError extends Error {
    constructor(code, message, field, status) {
      super(message);
      this.code = code;
      this.field = field || null;
      this.status = status || 0;
    }
  }

  const state = { device: null, request: null, timer: null, pendingBinding: null, homeLoadedAt: 0,
    credentials: null, credentialsAt: 0, credential: null, presentTimer: null };
  let approveLabel = ""; // the Approve button's own (translated) text; signing requests relabel it

  /** Call an API; returns the response (refusals throw an AppError with the platform's code).
   * ``accept``: the media type wanted (JSON unless a file, e.g. a QR code or a PDF). */
  async function apiFetch(method, path, { body, device, base = API, accept = "application/json" } = {}) {
    const headers = { Accept: accept, "Accept-Language": document.documentElement.lang || "zh-Hant-HK" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (device) {
      // A fresh proof per call: the shape of a DPoP proof (RFC 9449 §4.2).
      const proof = { htm: method, htu: location.origin + base + path, iat: Math.floor(Date.now() / 1000), jti: randomId() };
      headers.Authorization = "Device " + (await signJws({ alg: "ES256", kid: device.deviceId, typ: "dpop+jwt" }, proof, device.keyPair.privateKey));
    }
    let resp;
    try {
      resp = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin", cache: "no-store" });
    } catch (err) {
      throw new AppError("network", T.network);
    }
    if (!resp.ok) {
      let d = null;
      try { d = await resp.json(); } catch (err) { d = null; }
      d = d || {};
      throw new AppError(d.error || "http_" + resp.status, d.message || fmt(T.http_error, { status: resp.status }), d.field, resp.status);
    }
    return resp;
  }

  /** Call the wallet API (or ``base``, e.g. the exchange gateway's app API); returns the JSON. */
  async function api(method, path, options) {
    const resp = await apiFetch(method, path, options);
    if (resp.status === 204) return null;
    try { return await resp.json(); } catch (err) { return null; }
  }

  // --- WebAuthn --------------------------------------------------------------------------------
  function requireWebAuthn() {
    if (!window.isSecureContext) throw new AppError("insecure", T.insecure);
    if (!window.PublicKeyCredential || !navigator.credentials) throw new AppError("no_webauthn", T.no_webauthn);
  }
  function creationOptions(o) {
    const pk = Object.assign({}, o, { challenge: b64uDecode(o.challenge), user: Object.assign({}, o.user, { id: b64uDecode(o.user.id) }) });
    if (Array.isArray(o.excludeCredentials)) pk.excludeCredentials = o.excludeCredentials.map((c) => Object.assign({}, c, { id: b64uDecode(c.id) }));
    return pk;
  }
  function requestOptions(o) {
    const pk = Object.assign({}, o, { challenge: b64uDecode(o.challenge) });
    if (Array.isArray(o.allowCredentials)) pk.allowCredentials = o.allowCredentials.map((c) => Object.assign({}, c, { id: b64uDecode(c.id) }));
    return pk;
  }
  /** The standard JSON form of a credential (what py_webauthn's verify_*_response accept). */
  function credentialJson(cred) {
    const r = cred.response;
    const out = { id: cred.id, rawId: b64u(cred.rawId), type: cred.type, response: { clientDataJSON: b64u(r.clientDataJSON) }, clientExtensionResults: {} };
    if (cred.authenticatorAttachment) out.authenticatorAttachment = cred.authenticatorAttachment;
    if (r.attestationObject) {
      out.response.attestationObject = b64u(r.attestationObject);
      if (typeof r.getTransports === "function") out.response.transports = r.getTransports();
    }
    if (r.authenticatorData) {
      out.response.authenticatorData = b64u(r.authenticatorData);
      out.response.signature = b64u(r.signature);
      if (r.userHandle && r.userHandle.byteLength) out.response.userHandle = b64u(r.userHandle);
    }
    return out;
  }
  function passkeyError(err) {
    if (err && (err.name === "NotAllowedError" || err.name === "AbortError")) return new AppError("passkey_cancelled", T.passkey_cancelled);
    return new AppError("passkey_failed", fmt(T.passkey_failed, { reason: (err && err.message) || String(err) }));
  }
  async function createPasskey(options) {
    requireWebAuthn();
    try {
      return await navigator.credentials.create({ publicKey: creationOptions(options) });
    } catch (err) {
      throw passkeyError(err);
    }
  }
  async function getAssertion(options) {
    requireWebAuthn();
    try {
      return await navigator.credentials.get({ publicKey: requestOptions(options) });
    } catch (err) {
      throw passkeyError(err);
    }
  }

  // --- UI helpers -------------------------------------------------------------------------------
  const SCREENS = ["screen-bind", "screen-home", "screen-consents", "screen-credentials", "screen-credential", "screen-present", "screen-approve", "result"];
  let firstScreen = true;
  function show(id) {
    $("loading").hidden = true;
    root.removeAttribute("aria-busy");
    SCREENS.forEach((s) => { $(s).hidden = s !== id; });
    if (id !== "screen-approve") stopTimer();
    if (id !== "screen-present") stopPresentation();
    // Move focus to the new screen's heading, except on the first paint of the page.
    if (!firstScreen) {
      const heading = $(id).querySelector("h1");
      if (heading) heading.focus({ preventScroll: false });
    }
    firstScreen = false;
  }
  function clearMessages() {
    $("alert").textContent = "";
    $("notice").textContent = "";
    document.querySelectorAll("[aria-invalid=true]").forEach((el) => el.removeAttribute("aria-invalid"));
  }
  function notify(text) {
    $("notice").textContent = text;
  }
  function showError(err, formPrefix) {
    const message = (err && err.message) || String(err);
    $("alert").textContent = message;
    if (err && err.field && formPrefix) {
      const target = $(formPrefix + "-" + String(err.field).replace(/[._]/g, "-"));
      if (target) {
        const input = target.matches("input, select, textarea") ? target : target.querySelector("input, select, textarea");
        if (input) {
          input.setAttribute("aria-invalid", "true");
          input.focus();
          return;
        }
      }
    }
    $("alert").scrollIntoView({ block: "nearest" });
  }
  /** Run ``fn`` with ``buttons`` disabled; errors go to the alert region. */
  async function busy(buttons, fn, formPrefix) {
    clearMessages();
    buttons.forEach((b) => { b.disabled = true; });
    root.setAttribute("aria-busy", "true");
    try {
      return await fn();
    } catch (err) {
      if (err && err.code === "device_unbound") {
        await lostBinding(err.message);
        return undefined;
      }
      showError(err, formPrefix);
      return undefined;
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
      root.removeAttribute("aria-busy");
    }
  }
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (v === null || v === undefined || v === false) return;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : v);
    });
    children.flat().forEach((c) => { if (c !== null && c !== undefined) node.append(c); });
    return node;
  }
  const serviceName = (en, zh) => (isEn ? en || zh : zh || en) || "";
  const otherName = (en, zh) => { const other = isEn ? zh : en; return other && other !== serviceName(en, zh) ? other : ""; };
  const dateTime = (iso) => { try { return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso)); } catch (e) { return iso; } };
  const dateOnly = (iso) => { try { return new Intl.DateTimeFormat(locale, { dateStyle: "long", timeZone: "UTC" }).format(new Date(iso + "T00:00:00Z")); } catch (e) { return iso; } };
  const mmss = (seconds) => { const s = Math.max(0, Math.floor(seconds)); return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0"); };
  const tierLabel = (tier) => (tier === "plus" ? T.tier_plus : T.tier_basic);
  const partyName = (p) => (p ? serviceName(p.name_en, p.name_zh) : "");
  const fieldLabel = (f) => (isEn ? f.label_en || f.label_zh : f.label_zh || f.label_en) || f.name;
  /** "30 days", "1 hour 30 minutes" / "30 日", "1 小時 30 分鐘": at most two units, by Intl. */
  function durationText(seconds) {
    const parts = [];
    let rest = Math.max(0, Math.floor(Number(seconds) || 0));
    for (const [unit, size] of [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]]) {
      const n = Math.floor(rest / size);
      rest -= n * size;
      if (!n) continue;
      try {
        parts.push(new Intl.NumberFormat(locale, { style: "unit", unit, unitDisplay: "long" }).format(n));
      } catch (e) {
        parts.push(n + " " + unit + (n === 1 ? "" : "s"));
      }
    }
    return parts.slice(0, 2).join(" ") || "0";
  }
  const usesText = (maxUses) => (maxUses === null || maxUses === undefined ? T.uses_unlimited
    : maxUses === 1 ? T.uses_once : fmt(T.uses_many, { count: maxUses }));
  const outcomeText = (code) => OUTCOME[code] || String(code || "").replace(/_/g, " ");
  const timeOf = (iso) => { const t = Date.parse(iso); return Number.isNaN(t) ? 0 : t; };
  /** Canonical JSON as the platform makes it (sorted keys, no spaces; ledger.canonical). */
  function canonicalJson(value) {
    if (Array.isArray(value)) return "[" + value.map(canonicalJson).join(",") + "]";
    if (value && typeof value === "object") {
      return "{" + Object.keys(value).sort().map((k) => JSON.stringify(k) + ":" + canonicalJson(value[k])).join(",") + "}";
    }
    return JSON.stringify(value === undefined ? null : value);
  }
  async function sha256Hex(text) {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(text)));
    return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  const kindLabel = (kind) => T["kind_" + kind] || kind;
  const requestIdFrom = (text) => { const m = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.exec(text || ""); return m ? m[0].toLowerCase() : null; };

  function deviceName() {
    const ua = navigator.userAgent || "";
    const browser = /Edg\//.test(ua) ? "Edge" : /SamsungBrowser/.test(ua) ? "Samsung Internet" : /Firefox\//.test(ua) ? "Firefox"
      : /Chrome\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "Browser";
    const os = /iPhone/.test(ua) ? "iPhone" : /iPad/.test(ua) ? "iPad" : /Android/.test(ua) ? "Android" : /Mac OS X/.test(ua) ? "macOS"
      : /Windows/.test(ua) ? "Windows" : /Linux/.test(ua) ? "Linux" : "";
    return (os ? browser + " on " + os : browser) + " (web app)";
  }

  // --- binding ------------------------------------------------------------------------------------
  /** Reuse a started binding (its activation code is already spent) if the passkey step failed. */
  function reusableBinding(key) {
    const p = state.pendingBinding;
    if (p && p.key === key && Date.parse(p.data.expires_at) > Date.now() + 5000) return p.data;
    return null;
  }

  async function finishBinding(binding) {
    const keyPair = await newDeviceKey();
    const jwk = await publicJwk(keyPair);
    const cred = await createPasskey(binding.webauthn);
    const proof = await signJws({ alg: "ES256" }, { binding_id: binding.binding_id, nonce: binding.nonce }, keyPair.privateKey);
    let result;
    try {
      result = await api("POST", "/bindings/" + encodeURIComponent(binding.binding_id) + "/complete", {
        body: { public_jwk: jwk, proof, platform: "web", name: deviceName(), webauthn: credentialJson(cred) },
      });
    } catch (err) {
      if (["request_expired", "request_already_decided", "no_request"].includes(err.code)) state.pendingBinding = null;
      throw err;
    }
    state.pendingBinding = null;
    const device = { keyPair, deviceId: result.device_id, resident: result.resident, credentialId: cred.id, boundAt: new Date().toISOString(), origin: location.origin };
    await saveDevice(device);
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
    state.device = device;
    // The activation code must not stay in the address bar or history.
    history.replaceState(null, "", approvalId ? location.pathname : HOME);
    $("bind-code").value = "";
    await route();
    notify(T.bound);
  }

  async function onBind(event) {
    event.preventDefault();
    const hkid = $("bind-hkid").value.trim();
    const code = $("bind-code").value.trim();
    await busy([$("bind-submit"), $("register-submit")], async () => {
      requireWebAuthn();
      const key = "bind:" + hkid.toUpperCase().replace(/[^A-Z0-9]/g, "");
      let binding = reusableBinding(key);
      if (!binding) {
        binding = await api("POST", "/bindings", { body: { hkid, activation_code: code } });
        state.pendingBinding = { key, data: binding };
      }
      await finishBinding(binding);
    }, "bind");
  }

  async function onRegister(event) {
    event.preventDefault();
    const v = (id) => $("register-" + id).value.trim();
    const gender = document.querySelector("#register-gender input:checked");
    const guardian = v("guardian-name") || v("guardian-hkid") || v("guardian-relationship")
      ? { name: v("guardian-name"), hkid: v("guardian-hkid"), relationship: v("guardian-relationship") } : null;
    const body = {
      hkid: v("hkid"), family_name_en: v("family-name-en"), given_name_en: v("given-name-en"), name_zh: v("name-zh"),
      date_of_birth: v("date-of-birth"), gender: gender ? gender.value : "", email: v("email"), phone: v("phone"),
      residential_address: v("residential-address"), guardian,
    };
    await busy([$("bind-submit"), $("register-submit")], async () => {
      requireWebAuthn();
      const key = "register:" + body.hkid.toUpperCase().replace(/[^A-Z0-9]/g, "");
      let binding = reusableBinding(key);
      if (!binding) {
        binding = await api("POST", "/registrations", { body });
        state.pendingBinding = { key, data: binding };
      }
      await finishBinding(binding);
    }, "register");
  }

  async function lostBinding(message) {
    await forgetDevice().catch(() => {});
    state.device = null;
    show("screen-bind");
    $("alert").textContent = message || T.unbound;
  }

  async function onUnbind() {
    if (!window.confirm(T.unbind_confirm)) return;
    await busy([$("unbind-button")], async () => {
      try {
        await api("POST", "/unbind", { device: state.device });
      } catch (err) {
        // A key the platform no longer accepts is useless: forget it anyway.
        if (err.status !== 401) throw err;
      }
      await forgetDevice();
      state.device = null;
      history.replaceState(null, "", HOME);
      show("screen-bind");
      notify(T.unbound);
    });
  }

  // --- home -----------------------------------------------------------------------------------------
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
        el("a", { href: HOME + "approve/" + r.id, class: "item-link" },
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

  /** An exchange between organisations: "{user} received {product} from {provider}", purpose, outcome. */
  function exchangeItem(x) {
    const vars = { user: partyName(x.data_user), product: partyName(x.product), provider: partyName(x.data_provider) };
    const key = (x.delivered ? "exchange_received" : "exchange_asked") + (x.data_provider ? "" : "_no_provider");
    const outcome = x.delivered ? T.outcome_delivered : fmt(T.outcome_refused, { reason: outcomeText(x.outcome) });
    return el("li", { class: "item exchange" + (x.delivered ? "" : " refused"), "data-kind": "exchange", "data-exchange-id": x.id, "data-outcome": x.outcome },
      el("div", { class: "item-head" },
        el("strong", { class: "service", text: vars.user }),
        el("span", { class: "badge", text: T.kind_exchange })),
      el("time", { datetime: x.at, class: "hint", text: dateTime(x.at) }),
      el("p", { class: "exchange-what", text: fmt(T[key], vars) }),
      x.purpose ? el("p", { class: "exchange-purpose", text: fmt(T.exchange_purpose, { purpose: x.purpose }) }) : null,
      el("p", { class: "outcome " + (x.delivered ? "ok" : "refused"), text: outcome }));
  }

  /** Who used my data: releases to services and exchanges between organisations, newest first. */
  function renderHistory(releases, exchanges) {
    const entries = (releases || []).map((h) => ({ at: timeOf(h.released_at), node: () => releaseItem(h) }))
      .concat((exchanges || []).map((x) => ({ at: timeOf(x.at), node: () => exchangeItem(x) })));
    entries.sort((a, b) => b.at - a.at);
    $("history").replaceChildren(...entries.map((e) => e.node()));
    $("history-empty").hidden = entries.length > 0;
  }

  async function showHome() {
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
    const exchanges = await settle(api("GET", "/app/history", { device, base: EXCHANGE_API }));
    const failed = [me, pending, past, exchanges].find((r) => r.status === "rejected");
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
    if (past.status === "fulfilled" || exchanges.status === "fulfilled") {
      renderHistory(past.status === "fulfilled" ? past.value : [], exchanges.status === "fulfilled" ? exchanges.value : []);
    }
  }

  // --- data-sharing consents -----------------------------------------------------------------------
  function consentRow(label, value, cls) {
    return el("div", { class: cls || null }, el("dt", { text: label }), el("dd", { text: value }));
  }

  function consentItem(c) {
    const headId = "consent-" + c.id + "-user";
    const rows = [
      consentRow(T.data_product, partyName(c.product)),
      consentRow(T.data_provider, partyName(c.data_provider)),
      consentRow(T.purpose, c.purpose, "purpose"),
    ];
    if (c.granted_at) rows.push(consentRow(T.given_on, dateTime(c.granted_at)));
    if (c.valid_until) rows.push(consentRow(T.valid_until, dateTime(c.valid_until), "valid-until"));
    if (c.revoked_at) rows.push(consentRow(T.revoked_on, dateTime(c.revoked_at)));
    if (c.status !== "declined") {
      const uses = c.max_uses === null || c.max_uses === undefined ? fmt(T.uses_no_limit, { uses: c.uses }) : fmt(T.uses_of, { uses: c.uses, max: c.max_uses });
      rows.push(consentRow(T.uses, uses, "uses"));
    }
    const item = el("li", { class: "item consent", "data-consent-id": c.id, "data-status": c.status, tabindex: "-1", "aria-labelledby": headId },
      el("div", { class: "item-head" },
        el("strong", { class: "service", id: headId, text: partyName(c.data_user) }),
        el("span", { class: "badge status status-" + c.status, text: T["status_" + c.status] || c.status })),
      el("dl", { class: "fields compact" }, rows));
    if (c.status === "active") {
      const button = el("button", { class: "btn danger revoke", type: "button", "aria-describedby": headId, text: T.revoke });
      button.addEventListener("click", () => onRevoke(c, button));
      item.append(button);
    }
    return item;
  }

  function renderConsents(items) {
    $("consents").replaceChildren(...items.map(consentItem));
    $("consents-empty").hidden = items.length > 0;
  }

  async function loadConsents() {
    renderConsents(await api("GET", "/app/consents", { device: state.device, base: EXCHANGE_API }));
  }

  async function showConsents() {
    show("screen-consents");
    $("consents").replaceChildren();
    $("consents-empty").hidden = true;
    await busy([], loadConsents);
  }

  async function onRevoke(consent, button) {
    const vars = { user: partyName(consent.data_user), product: partyName(consent.product), provider: partyName(consent.data_provider) };
    if (!window.confirm(fmt(T.revoke_confirm, vars))) return;
    await busy([button], async () => {
      await api("POST", "/app/consents/" + encodeURIComponent(consent.id) + "/revoke", { device: state.device, base: EXCHANGE_API });
      await loadConsents();
      notify(fmt(T.revoked, vars));
      // Keep the keyboard user's place: focus the (now revoked) consent.
      const item = Array.from($("consents").children).find((li) => li.dataset.consentId === consent.id);
      if (item) item.focus();
    });
  }

  async function onSaveProfile(event) {
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

  function onScan(event) {
    event.preventDefault();
    clearMessages();
    const id = requestIdFrom($("scan-url").value);
    if (!id) {
      $("scan-url").setAttribute("aria-invalid", "true");
      showError(new AppError("bad_link", T.bad_link));
      $("scan-url").focus();
      return;
    }
    window.location.assign(HOME + "approve/" + id);
  }

  // --- e-licences (電子證照) ------------------------------------------------------------------------
  const CREDENTIAL_ROUTE = /^#credentials(?:\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(\/present)?)?$/i;
  /** Claims ticked by default when showing an e-licence: the holder's name, nothing else. */
  const SHOWN_BY_DEFAULT = new Set(["name", "name_en", "name_zh", "family_name", "given_name"]);
  const DEFAULT_MAX_AGE = 300; // seconds; each credential says presentation_max_age (TUNGBAN_PRESENTATION_MAX_AGE)
  const COLOUR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

  /** "valid", "suspended", "revoked" or "expired": a revocation or suspension comes first. */
  const credentialState = (c) => (c.status !== "valid" ? c.status : c.expired ? "expired" : "valid");
  const isoDate = (v) => typeof v === "string" && /^\d{4}-\d{2}-\d{2}$/.test(v);
  const claimText = (c) => (isoDate(c.value) ? dateOnly(c.value) : c.value === null || c.value === undefined ? "—" : String(c.value));
  const listText = (items) => { try { return new Intl.ListFormat(locale, { style: "long", type: "conjunction" }).format(items); } catch (e) { return items.join(", "); } };
  const b64json = (part) => JSON.parse(dec.decode(b64uDecode(part)));

  function cardStyle(c) {
    const bg = COLOUR.test(c.background || "") ? c.background : "#0b5d4b";
    const fg = COLOUR.test(c.text_color || "") ? c.text_color : "#ffffff";
    return "background-color:" + bg + ";color:" + fg;
  }

  function stateBadge(c, id) {
    const st = credentialState(c);
    return el("span", { class: "credential-badge state-" + st, id: id || null, "data-status": st, text: T["cred_" + st] || st });
  }

  /** Whether the e-licence is bound to this phone's key: "here", "elsewhere" or "unbound". */
  async function bindingOf(c) {
    let cnf = null;
    try { cnf = (b64json(c.sd_jwt.split("~")[0].split(".")[1]).cnf || {}).jwk || null; } catch (e) { cnf = null; }
    if (!cnf) return "unbound";
    const mine = await publicJwk(state.device.keyPair);
    return cnf.x === mine.x && cnf.y === mine.y ? "here" : "elsewhere";
  }

  function credentialItem(c) {
    const titleId = "credential-" + c.id + "-name";
    return el("li", { class: "credential-item", "data-credential-id": c.id, "data-type": c.type, "data-status": credentialState(c) },
      el("a", { class: "credential-card", href: HOME + "#credentials/" + c.id, style: cardStyle(c) },
        el("span", { class: "credential-issuer", text: c.issuer_name }),
        el("span", { class: "credential-name", id: titleId, text: c.type_name }),
        el("span", { class: "credential-state" }, stateBadge(c, titleId + "-state")),
        el("span", { class: "credential-go", "aria-hidden": "true", text: T.cred_open })));
  }

  async function loadCredentials() {
    state.credentials = await api("GET", "/app/credentials", { device: state.device, base: CREDENTIALS_API });
    state.credentialsAt = Date.now();
    return state.credentials;
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
    const recent = Date.now() - state.credentialsAt < 15000;
    let found = recent ? (state.credentials || []).find((c) => c.id === lower) : null;
    if (!found) found = (await loadCredentials()).find((c) => c.id === lower);
    if (!found) throw new AppError("credential_unknown", T.cred_unknown);
    return found;
  }

  async function showCredential(id) {
    const c = await findCredential(id);
    state.credential = c;
    const st = credentialState(c);
    $("credential-card").setAttribute("style", cardStyle(c));
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
      history.replaceState(null, "", HOME + "#credentials/" + c.id);
      await showCredential(c.id);
      return;
    }
    $("present-back").setAttribute("href", HOME + "#credentials/" + c.id);
    $("present-type").textContent = c.type_name + " · " + c.issuer_name;
    $("present-claims").replaceChildren(...c.claims.map((claim, i) => {
      const id = "disclose-" + i;
      return el("li", { class: "claim" },
        el("input", { type: "checkbox", name: "disclose", value: claim.name, id, checked: SHOWN_BY_DEFAULT.has(claim.name), "aria-describedby": id + "-value" }),
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

  /** Hide the QR code and forget it (e.g. when the ticked details change). */
  function resetPresentation() {
    stopPresentation();
    $("presentation").hidden = true;
    delete $("presentation").dataset.expired;
    $("presentation-qr").hidden = true;
    $("presentation-qr").src = "data:,";
    $("presentation-text").value = "";
    $("presentation-link").setAttribute("href", "#");
  }

  /** The presentation of ``c`` disclosing ``names`` (SD-JWT §4): the issuer-signed JWT, the
   * chosen disclosures as issued, then a key-binding JWT by this phone's key (§4.3) when the
   * credential is bound to it. Returns ``{text, iat}``. */
  async function buildPresentation(c, names, bound) {
    const [jwt, ...rest] = c.sd_jwt.split("~");
    const chosen = rest.filter((d) => {
      if (!d) return false;
      try {
        const decoded = b64json(d);
        return Array.isArray(decoded) && decoded.length === 3 && names.includes(decoded[1]);
      } catch (e) { return false; }
    });
    const sdJwt = jwt + "~" + chosen.map((d) => d + "~").join("");
    if (!bound) return { text: sdJwt, iat: null };
    const iat = Math.floor(Date.now() / 1000);
    const sdHash = b64u(await crypto.subtle.digest("SHA-256", enc.encode(sdJwt)));
    const payload = { iat, aud: c.aud || String(c.verify_uri).replace(/\/+$/, ""), nonce: randomId(), sd_hash: sdHash };
    const kb = await signJws({ alg: "ES256", typ: "kb+jwt" }, payload, state.device.keyPair.privateKey);
    return { text: sdJwt + kb, iat };
  }

  /** A QR code (ISO/IEC 18004) of ``text`` drawn here, in the browser, by qrcode-generator, as
   * an SVG data URL (4 px a module, a quiet zone of 4 modules): error correction M, or L when
   * M cannot hold it; the smallest version that fits. ``null`` when no QR code can hold it. */
  function qrDataUrl(text) {
    const factory = window.qrcode;
    if (typeof factory !== "function") throw new AppError("network", T.network); // vendor script not loaded
    factory.stringToBytes = factory.stringToBytesFuncs["UTF-8"];
    for (const level of ["M", "L"]) {
      const qr = factory(0, level);
      qr.addData(text, "Byte");
      try {
        qr.make();
      } catch (e) {
        continue; // "code length overflow": try the lower level
      }
      const svg = qr.createSvgTag({ cellSize: 4, margin: 16 });
      return "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svg);
    }
    return null;
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

  async function onPresent(event) {
    if (event) event.preventDefault();
    const c = state.credential;
    if (!c) return;
    await busy([$("present-submit"), $("present-again")], async () => {
      resetPresentation();
      const names = Array.from(document.querySelectorAll("#present-claims input[name=disclose]")).filter((i) => i.checked).map((i) => i.value);
      const bound = (await bindingOf(c)) === "here";
      const { text, iat } = await buildPresentation(c, names, bound);
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

  /** The credential as a PDF from the platform, saved as a file. */
  async function onDownloadPdf() {
    const c = state.credential;
    if (!c) return;
    await busy([$("download-pdf")], async () => {
      const resp = await apiFetch("GET", "/app/credentials/" + encodeURIComponent(c.id) + "/pdf", { device: state.device, base: CREDENTIALS_API, accept: "application/pdf" });
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
  async function showCredentialRoute(match) {
    try {
      if (!match[1]) await showCredentials();
      else if (match[2]) await showPresent(match[1]);
      else await showCredential(match[1]);
    } catch (err) {
      if (err && err.code === "device_unbound") { await lostBinding(err.message); return; }
      if (err && err.code === "credential_unknown") {
        history.replaceState(null, "", HOME + "#credentials");
        await showCredentials();
      } else if (!match[1]) {
        throw err;
      }
      showError(err);
    }
  }

  // --- approval --------------------------------------------------------------------------------------
  function stopTimer() {
    if (state.timer) clearInterval(state.timer);
    state.timer = null;
  }

  function startTimer(expiresAt) {
    stopTimer();
    const end = Date.parse(expiresAt);
    const tick = () => {
      const left = (end - Date.now()) / 1000;
      $("countdown").textContent = fmt(T.time_left, { time: mmss(left) });
      $("countdown").classList.toggle("urgent", left <= 30);
      if (left <= 0) {
        stopTimer();
        showResult("expired");
      }
    };
    tick();
    state.timer = setInterval(tick, 1000);
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
        el("p", { class: "digest-label", id: id + "-label", text: T.digest_label }),
        digestNode(d.sha256));
    }));
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
    const days = req.offline_access_days;
    $("offline-access").hidden = !days;
    $("offline-access").textContent = days ? fmt(T.offline_access, { days }) : "";
  }

  async function showApproval(id) {
    const req = await api("GET", "/requests/" + encodeURIComponent(id), { device: state.device });
    state.request = req;
    renderRequest(req);
    if (req.status !== "pending") {
      showResult(req.status);
      return;
    }
    show("screen-approve");
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
    } else if (status === "failed") {
      // Approved, but the platform could not sign (e.g. plus_required, certificate_revoked).
      title = T.sign_failed_title;
      message = detail || T.sign_failed_message;
    } else { title = T.answered_title; message = T.answered_message; }
    $("result").dataset.status = status;
    $("result-icon").textContent = status === "approved" ? "✓" : status === "declined" || status === "failed" ? "✕" : "!";
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
      if (decision === "approve" && (req.kind === "consent" || req.terms_sha256)) {
        // What you see is what you sign: the digest must be that of the terms shown.
        const shown = req.consent ? await sha256Hex(canonicalJson(req.consent)) : null;
        if (!req.terms_sha256 || shown !== String(req.terms_sha256).toLowerCase()) throw new AppError("terms_mismatch", T.terms_mismatch);
      }
      const claims = decision === "approve"
        ? Array.from(document.querySelectorAll("#claims input[name=claim]")).filter((i) => i.checked).map((i) => i.value).sort()
        : [];
      // User verification first: the passkey's challenge is the request's nonce.
      const assertion = req.webauthn ? credentialJson(await getAssertion(req.webauthn)) : null;
      const payload = { request_id: req.id, requester: req.requester.id, nonce: req.nonce, decision, claims };
      if (Array.isArray(req.documents) && req.documents.length) {
        // A signing decision covers exactly these documents: their SHA-256 digests, in order.
        payload.documents = req.documents.map((d) => d.sha256);
      }
      if (req.terms_sha256) {
        // A consent decision covers exactly the terms shown: data user, provider, product, purpose, limits.
        payload.terms = req.terms_sha256;
      }
      const signature = await signJws({ alg: "ES256", kid: state.device.deviceId }, payload, state.device.keyPair.privateKey);
      try {
        const out = await api("POST", "/requests/" + encodeURIComponent(req.id) + "/decision", { device: state.device, body: { signature, webauthn: assertion } });
        showResult(out.status);
      } catch (err) {
        if (err.code === "request_expired") { showResult("expired"); return; }
        if (err.code === "request_already_decided") { showResult("answered"); return; }
        if (req.kind === "sign" && decision === "approve" && err.status >= 400 && err.status !== 401) {
          // The approval was recorded but signing was refused (plus_required,
          // certificate_revoked, ...): the request is now "failed" and cannot be retried.
          let now = null;
          try { now = await api("GET", "/requests/" + encodeURIComponent(req.id), { device: state.device }); } catch (e) { now = null; }
          if (now && now.status === "failed") { showResult("failed", err.message); return; }
        }
        throw err;
      }
    });
  }

  // --- start ---------------------------------------------------------------------------------------------
  async function route() {
    clearMessages();
    if (!state.device) {
      show("screen-bind");
      if (approvalId) notify(T.bind_first);
      return;
    }
    const query = new URLSearchParams(location.search);
    if (!approvalId && (query.has("code") || query.has("hkid"))) {
      // An officer's QR code opened a phone that is already bound: one phone, one account.
      history.replaceState(null, "", HOME);
      await showHome();
      notify(T.already_bound);
      return;
    }
    if (approvalId) {
      try {
        await showApproval(approvalId);
      } catch (err) {
        if (err.code === "device_unbound") { await lostBinding(err.message); return; }
        await showHome();
        showError(err);
      }
      return;
    }
    if (location.hash === "#consents") {
      await showConsents();
      return;
    }
    const credentialRoute = CREDENTIAL_ROUTE.exec(location.hash);
    if (credentialRoute) {
      await showCredentialRoute(credentialRoute);
      return;
    }
    await showHome();
  }

  /** In-app navigation by the address's fragment: ``#consents`` or the home screen. */
  function onHashChange() {
    if (!state.device || approvalId) return;
    clearMessages();
    const credentialRoute = CREDENTIAL_ROUTE.exec(location.hash);
    if (location.hash === "#consents") showConsents().catch(showError);
    else if (credentialRoute) showCredentialRoute(credentialRoute).catch(showError);
    else if ($("screen-home").hidden) showHome().catch(showError);
  }

  function registerServiceWorker() {
    if (!("serviceWorker" in navigator) || !root.dataset.sw) return;
    navigator.serviceWorker.register(root.dataset.sw, { scope: HOME }).catch(() => {});
  }

  async function start() {
    approveLabel = $("approve-button").textContent;
    $("bind-form").addEventListener("submit", onBind);
    $("register-form").addEventListener("submit", onRegister);
    $("profile-form").addEventListener("submit", onSaveProfile);
    $("scan-form").addEventListener("submit", onScan);
    $("unbind-button").addEventListener("click", onUnbind);
    $("approve-form").addEventListener("submit", (e) => { e.preventDefault(); decide("approve"); });
    $("decline-button").addEventListener("click", () => decide("decline"));
    window.addEventListener("hashchange", onHashChange);
    ["consents-back", "credentials-back"].forEach((id) => $(id).addEventListener("click", (e) => {
      // Back to the home screen in place (and in the history), no reload.
      if (approvalId || !state.device) return;
      e.preventDefault();
      history.pushState(null, "", HOME);
      clearMessages();
      showHome().catch(showError);
    }));
    $("present-button").addEventListener("click", () => {
      if (state.credential) location.hash = "#credentials/" + state.credential.id + "/present";
    });
    $("download-pdf").addEventListener("click", onDownloadPdf);
    $("present-form").addEventListener("submit", onPresent);
    $("present-again").addEventListener("click", () => onPresent());
    // The QR code shows what was ticked: a changed choice needs a new one.
    $("present-claims").addEventListener("change", resetPresentation);
    $("result-close").addEventListener("click", () => {
      try { if (window.opener) window.opener.focus(); } catch (e) { /* cross-origin opener */ }
      window.close();
    });
    // Back in the app (e.g. after scanning on another screen): show fresh requests and history.
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && state.device && !$("screen-home").hidden && !root.hasAttribute("aria-busy")
          && Date.now() - state.homeLoadedAt > 30000) {
        showHome().catch(showError);
      }
    });
    registerServiceWorker();
    if (!window.indexedDB || !window.crypto || !crypto.subtle) {
      show("screen-bind");
      showError(new AppError("no_storage", window.isSecureContext ? T.no_storage : T.insecure));
      return;
    }
    try {
      state.device = (await loadDevice()) || null;
    } catch (err) {
      show("screen-bind");
      showError(new AppError("no_storage", T.no_storage));
      return;
    }
    await route();
  }

  start().catch((err) => { show("screen-bind"); showError(err); });
})();
