/* The personal code screen (#personal-code, issue 16): choose a verifier and what to show; the
 * QR is made on this phone and renewed before a verifier's limit (at most 60 s). Works offline
 * with a credential fetched earlier for that verifier (kept in IndexedDB until it expires). */

import { AppError, api } from "../lib/api.js";
import { publicJwk } from "../lib/jose.js";
import { T, fmt } from "../lib/messages.js";
import { holderProof, makeCode, newHolderKey, refreshSeconds, usable } from "../lib/personal_code.js";
import { qrDataUrl } from "../lib/qr.js";
import { loadRecord, saveRecord } from "../lib/store.js";
import { config, state } from "../state.js";
import { $, busy, el, onShow, show, showError } from "../ui/dom.js";
import { dateTime, labelled, listText } from "../ui/format.js";

export const PERSONAL_CODE_ROUTE = /^#personal-code$/;
const VERIFIERS_KEY = "personal-code-verifiers";
const keyOf = (verifierId) => "personal-code:" + verifierId;

function stop() {
  if (state.pcTimer) clearInterval(state.pcTimer);
  state.pcTimer = null;
}
onShow((id) => { if (id !== "screen-personal-code") stop(); });

/** The verifiers (from the platform, or the list kept last time when offline). */
async function loadVerifiers() {
  try {
    const list = await api("GET", "/app/personal-code/verifiers", { device: state.device, base: config.credentialsApi });
    saveRecord(VERIFIERS_KEY, list).catch(() => {});
    return { list, offline: false };
  } catch (err) {
    if (err.code !== "network") throw err;
    const kept = await loadRecord(VERIFIERS_KEY).catch(() => null);
    if (!kept) throw new AppError("network", T.pc_needs_network);
    return { list: kept, offline: true };
  }
}

export async function showPersonalCode() {
  stop();
  show("screen-personal-code");
  $("pc-code").hidden = true;
  await busy([], async () => {
    const { list, offline } = await loadVerifiers();
    const chosen = $("pc-verifier").value;
    $("pc-verifier").replaceChildren(...list.map((v) => el("option", { value: v.id, text: v.name })));
    if (chosen && list.some((v) => v.id === chosen)) $("pc-verifier").value = chosen;
    $("pc-offline").hidden = !offline;
    $("pc-offline").textContent = offline ? T.pc_needs_network : "";
  });
}

/** The kept credential for ``verifierId``, or a new one from the platform (a new key). */
async function credentialFor(verifierId) {
  const kept = await loadRecord(keyOf(verifierId)).catch(() => null);
  if (usable(kept)) {
    try {
      return await fetchCredential(verifierId);
    } catch (err) {
      if (err.code !== "network") throw err;
      return { ...kept, offline: true };
    }
  }
  return fetchCredential(verifierId);
}

async function fetchCredential(verifierId) {
  const keyPair = await newHolderKey();
  const made = await api("POST", "/app/personal-code", {
    device: state.device, base: config.credentialsApi,
    body: {
      verifier: verifierId, holder_jwk: await publicJwk(keyPair),
      holder_proof: await holderProof(keyPair, { verifierId, deviceId: state.device.deviceId }),
    },
  });
  const kept = {
    sdJwt: made.sd_jwt, keyPair, aud: made.aud, verifier: made.verifier, maxAge: made.max_age,
    claims: made.claims, expiresAt: Date.parse(made.expires_at),
  };
  await saveRecord(keyOf(verifierId), kept).catch(() => {});
  return kept;
}

async function draw(kept) {
  const names = Array.from(document.querySelectorAll("#pc-claims input[name=pc-claim]")).filter((i) => i.checked).map((i) => i.value);
  const { text, iat } = await makeCode(kept, names);
  const url = qrDataUrl(text);
  if (url) $("pc-qr").src = url;
  $("pc-qr").alt = fmt(T.pc_qr_alt, { verifier: kept.verifier.name });
  $("pc-text").value = text;
  $("pc-code").dataset.iat = String(iat);
  $("pc-code").dataset.bytes = String(text.length);
  const labels = (kept.claims || []).filter((c) => names.includes(c.name)).map((c) => labelled(c.label, c.value));
  $("pc-shows").textContent = labels.length
    ? fmt(T.pc_shows, { verifier: kept.verifier.name, claims: listText(labels) })
    : fmt(T.pc_shows_nothing, { verifier: kept.verifier.name });
  return iat;
}

export async function onShowPersonalCode(event) {
  if (event) event.preventDefault();
  const verifierId = $("pc-verifier").value;
  if (!verifierId) return;
  await busy([$("pc-submit")], async () => {
    stop();
    const kept = await credentialFor(verifierId);
    $("pc-offline").hidden = !kept.offline;
    $("pc-offline").textContent = kept.offline ? fmt(T.pc_offline, { time: dateTime(new Date(kept.expiresAt).toISOString()) }) : "";
    const every = refreshSeconds(kept.maxAge);
    let iat = await draw(kept);
    $("pc-code").hidden = false;
    const tick = async () => {
      const age = Date.now() / 1000 - iat;
      if (age >= every) iat = await draw(kept);
      $("pc-countdown").textContent = fmt(T.pc_time_left, { seconds: Math.max(0, Math.ceil(every - (Date.now() / 1000 - iat))) });
    };
    await tick();
    state.pcTimer = setInterval(() => { tick().catch(showError); }, 1000);
    $("pc-code-title").focus();
  });
}

/** A changed choice: a new code at once (when one is shown). */
export function onPersonalCodeChange() {
  if (!$("pc-code").hidden) onShowPersonalCode().catch(showError);
}
