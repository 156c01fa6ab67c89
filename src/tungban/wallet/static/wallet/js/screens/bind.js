/* Binding this phone (activation code or self-registration, then a passkey) and unbinding. */

import { api } from "../lib/api.js";
import { newDeviceKey, publicJwk, signJws } from "../lib/jose.js";
import { T } from "../lib/messages.js";
import { forgetDevice, saveDevice } from "../lib/store.js";
import { createPasskey, credentialJson, requireWebAuthn } from "../lib/webauthn.js";
import { config, nav, state } from "../state.js";
import { $, busy, handlers, notify, show } from "../ui/dom.js";

/** "Chrome on Android (web app)": the device's name in the resident's list of devices. */
function deviceName() {
  const ua = navigator.userAgent || "";
  const browser = /Edg\//.test(ua) ? "Edge" : /SamsungBrowser/.test(ua) ? "Samsung Internet" : /Firefox\//.test(ua) ? "Firefox"
    : /Chrome\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "Browser";
  const os = /iPhone/.test(ua) ? "iPhone" : /iPad/.test(ua) ? "iPad" : /Android/.test(ua) ? "Android" : /Mac OS X/.test(ua) ? "macOS"
    : /Windows/.test(ua) ? "Windows" : /Linux/.test(ua) ? "Linux" : "";
  return (os ? browser + " on " + os : browser) + " (web app)";
}

/** Reuse a started binding if the passkey step failed (the platform uses the activation code up
 * only when a binding completes, so a new start with the same code would work too: issue 16). */
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
    if (["request_expired", "request_already_decided", "no_request", "bad_activation_code"].includes(err.code)) state.pendingBinding = null;
    throw err;
  }
  state.pendingBinding = null;
  const device = { keyPair, deviceId: result.device_id, resident: result.resident, credentialId: cred.id, boundAt: new Date().toISOString(), origin: location.origin };
  await saveDevice(device);
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
  state.device = device;
  // The activation code must not stay in the address bar or history.
  history.replaceState(null, "", config.approvalId ? location.pathname : config.home);
  $("bind-code").value = "";
  await nav.route();
  notify(T.bound);
}

export async function onBind(event) {
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

export async function onRegister(event) {
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

/** The platform no longer accepts this phone's key: forget it and show the binding screen. */
export async function lostBinding(message) {
  await forgetDevice().catch(() => {});
  state.device = null;
  show("screen-bind");
  $("alert").textContent = message || T.unbound;
}
handlers.unbound = lostBinding;

export async function onUnbind() {
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
    history.replaceState(null, "", config.home);
    show("screen-bind");
    notify(T.unbound);
  });
}
