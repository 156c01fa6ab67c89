/* The page's translated strings: <template id="i18n"> holds ``data-k`` strings (into lib/messages
 * T), ``data-claim`` e-ME claim labels (from tungban.identity.eme, one source), ``data-kind``
 * approval-kind labels (from the wallet's kind registry) and ``data-outcome`` exchange outcomes. */

import { T } from "../lib/messages.js";

const CLAIM = {};
const KIND = {};
const OUTCOME = {};
const strings = document.getElementById("i18n");
if (strings) {
  strings.content.querySelectorAll("[data-k]").forEach((el) => { T[el.dataset.k] = el.textContent.trim(); });
  strings.content.querySelectorAll("[data-claim]").forEach((el) => { CLAIM[el.dataset.claim] = el.textContent.trim(); });
  strings.content.querySelectorAll("[data-kind]").forEach((el) => { KIND[el.dataset.kind] = el.textContent.trim(); });
  strings.content.querySelectorAll("[data-outcome]").forEach((el) => { OUTCOME[el.dataset.outcome] = el.textContent.trim(); });
}

export { T };
export const claimLabel = (name) => CLAIM[name] || name;
export const kindLabel = (kind) => KIND[kind] || kind;
export const outcomeText = (code) => OUTCOME[code] || String(code || "").replace(/_/g, " ");
