/* tungban app (web): binds this phone to an account and approves requests from services.
 *
 * Protocol (see tungban/wallet/services.py; the CLI app in wallet/cli.py speaks the same):
 *  - device key: ECDSA P-256 made by WebCrypto, NOT extractable; the CryptoKeyPair object is
 *    kept in IndexedDB (structured clone keeps the private key unreadable by script);
 *  - binding proof, decisions and API-call proofs are JWS compact, ES256 (lib/jose.js);
 *  - a passkey (WebAuthn) confirms the binding and every decision (lib/webauthn.js);
 *  - a signing request (kind "sign") lists documents by name and SHA-256; the signed decision
 *    then also carries "documents": the digests in order (lib/decision.js);
 *  - a data-sharing consent (kind "consent") shows its terms; the signed decision carries
 *    "terms": the SHA-256 of the terms' canonical JSON, recomputed here from what is shown;
 *  - e-licences are SD-JWT VCs bound to the device key; "Show to verify" builds the
 *    presentation and its QR code here (lib/sdjwt.js, lib/qr.js).
 * Native ES modules, no build step; lib/* are unit-tested with `node --test` against protocol
 * vectors that the Python tests write (tungban/wallet/tests/test_protocol_vectors.py).
 */

import { AppError, configureApi } from "./lib/api.js";
import { T } from "./lib/messages.js";
import { loadDevice } from "./lib/store.js";
import { config, nav, state } from "./state.js";
import { $, clearMessages, notify, onShow, show, showError } from "./ui/dom.js";
import "./ui/strings.js";
import { initApprove, showApproval } from "./screens/approve.js";
import { lostBinding, onBind, onRegister, onUnbind } from "./screens/bind.js";
import { showConsents } from "./screens/consents.js";
import { CREDENTIAL_ROUTE, onDownloadPdf, onPresent, onPreset, resetPresentation, showCredentialRoute } from "./screens/credentials.js";
import { onSaveProfile, onScan, showHome } from "./screens/home.js";
import { ASSISTANT_ROUTE, showAssistant } from "./screens/assistant.js";
import { MINIAPP_ROUTE, onScreenShown as onMiniappShown, showMiniappRoute } from "./screens/miniapps.js";
import { PERSONAL_CODE_ROUTE, onPersonalCodeChange, onShowPersonalCode, showPersonalCode } from "./screens/personal_code.js";
import { initInbox, inboxRoute, showInboxRoute } from "./screens/inbox.js";
import { BILLS_ROUTE, initBills, showBillsRoute } from "./screens/bills.js";

const HOME = config.home;
const approvalId = config.approvalId;

async function route() {
  clearMessages();
  // An officer's QR code: /app/#hkid=…&code=… — in the fragment, which is never sent to a
  // server (issue 13 item 5); the bind form is filled from it here.
  const query = new URLSearchParams(location.hash.slice(1));
  const fromCounter = !approvalId && (query.has("code") || query.has("hkid"));
  if (!state.device) {
    show("screen-bind");
    if (fromCounter) {
      $("bind-hkid").value = query.get("hkid") || "";
      $("bind-code").value = query.get("code") || "";
    }
    if (approvalId) notify(T.bind_first);
    return;
  }
  if (fromCounter) {
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
  if (ASSISTANT_ROUTE.test(location.hash)) {
    await showAssistant();
    return;
  }
  const miniappRoute = MINIAPP_ROUTE.exec(location.hash);
  if (miniappRoute) {
    await showMiniappRoute(miniappRoute);
    return;
  }
  if (PERSONAL_CODE_ROUTE.test(location.hash)) { await showPersonalCode(); return; }
  const billsRoute = BILLS_ROUTE.exec(location.hash);
  if (billsRoute) {
    await showBillsRoute(billsRoute);
    return;
  }
  if (inboxRoute(location.hash)) {
    await showInboxRoute(inboxRoute(location.hash));
    return;
  }
  await showHome();
}
nav.route = route;

/** In-app navigation by the address's fragment: ``#consents``, ``#credentials…`` or the home screen. */
function onHashChange() {
  if (approvalId) return;
  if (/(^#|&)(hkid|code)=/.test(location.hash)) { route().catch(showError); return; } // a counter's QR link
  if (!state.device) return;
  clearMessages();
  const credentialRoute = CREDENTIAL_ROUTE.exec(location.hash);
  if (location.hash === "#consents") showConsents().catch(showError);
  else if (credentialRoute) showCredentialRoute(credentialRoute).catch(showError);
  else if (ASSISTANT_ROUTE.test(location.hash)) showAssistant().catch(showError);
  else if (MINIAPP_ROUTE.test(location.hash)) showMiniappRoute(MINIAPP_ROUTE.exec(location.hash)).catch(showError);
  else if (PERSONAL_CODE_ROUTE.test(location.hash)) showPersonalCode().catch(showError);
  else if (inboxRoute(location.hash)) showInboxRoute(inboxRoute(location.hash)).catch(showError);
  else if (BILLS_ROUTE.test(location.hash)) showBillsRoute(BILLS_ROUTE.exec(location.hash)).catch(showError);
  else if ($("screen-home").hidden) showHome().catch(showError);
}

function registerServiceWorker() {
  if (!("serviceWorker" in navigator) || !config.sw) return;
  navigator.serviceWorker.register(config.sw, { scope: HOME }).catch(() => {});
}

async function start() {
  configureApi({ base: config.api, lang: document.documentElement.lang || "zh-Hant-HK" });
  initApprove();
  onShow(onMiniappShown);
  initInbox();
  initBills();
  $("bind-form").addEventListener("submit", onBind);
  $("register-form").addEventListener("submit", onRegister);
  $("profile-form").addEventListener("submit", onSaveProfile);
  $("scan-form").addEventListener("submit", onScan);
  $("unbind-button").addEventListener("click", onUnbind);
  window.addEventListener("hashchange", onHashChange);
  $("pc-form").addEventListener("submit", (e) => onShowPersonalCode(e).catch(showError));
  $("pc-claims").addEventListener("change", onPersonalCodeChange);
  $("pc-verifier").addEventListener("change", onPersonalCodeChange);
  ["consents-back", "credentials-back", "miniapps-back", "assistant-back", "pc-back", "inbox-back", "bills-back"].forEach((id) => $(id).addEventListener("click", (e) => {
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
  $("present-presets").addEventListener("click", (e) => onPreset(e).catch(showError));
  // The QR code shows what was ticked: a changed choice needs a new one.
  $("present-claims").addEventListener("change", resetPresentation);
  $("present-nonce").addEventListener("input", resetPresentation);
  // Back in the app (e.g. after scanning on another screen): show fresh requests and history.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && state.device && !$("screen-home").hidden && !config.root.hasAttribute("aria-busy")
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

if (config.root) start().catch((err) => { show("screen-bind"); showError(err); });
