/* Data-sharing consents (#consents): what the resident allowed, and revoking. */

import { api } from "../lib/api.js";
import { T, fmt } from "../lib/messages.js";
import { config, state } from "../state.js";
import { $, busy, el, notify, show } from "../ui/dom.js";
import { dateTime, partyName } from "../ui/format.js";

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
  renderConsents(await api("GET", "/app/consents", { device: state.device, base: config.exchangeApi }));
}

/* Cross-boundary bindings (issue 23): the partner platforms this account is bound to, removable. */
function bindingItem(b) {
  const headId = "binding-" + b.id + "-partner";
  const partner = partyName(b.partner);
  const basis = document.documentElement.lang.startsWith("zh") ? b.partner.legal_basis_zh : b.partner.legal_basis_en;
  const button = el("button", { class: "btn danger revoke", type: "button", "aria-describedby": headId, text: T.binding_remove });
  button.addEventListener("click", () => onRemoveBinding(b, partner, button));
  return el("li", { class: "item consent", "data-binding-id": b.id, tabindex: "-1", "aria-labelledby": headId },
    el("div", { class: "item-head" }, el("strong", { class: "service", id: headId, text: partner })),
    el("dl", { class: "fields compact" }, [
      consentRow(T.binding_bound_on, dateTime(b.created_at)),
      consentRow(T.binding_basis, basis, "purpose"),
      consentRow(T.binding_filing, b.partner.filing_reference),
    ]),
    button);
}

async function loadBindings() {
  const items = await api("GET", "/app/bindings", { device: state.device, base: config.federationApi });
  $("bindings").replaceChildren(...items.map(bindingItem));
  $("bindings-empty").hidden = items.length > 0;
}

async function onRemoveBinding(binding, partner, button) {
  if (!window.confirm(fmt(T.binding_remove_confirm, { partner }))) return;
  await busy([button], async () => {
    await api("DELETE", "/app/bindings/" + encodeURIComponent(binding.id), { device: state.device, base: config.federationApi });
    await loadBindings();
    notify(fmt(T.binding_removed, { partner }));
    $("bindings-title").focus();
  });
}

export async function showConsents() {
  show("screen-consents");
  $("consents").replaceChildren();
  $("consents-empty").hidden = true;
  $("bindings").replaceChildren();
  $("bindings-empty").hidden = true;
  await busy([], async () => { await loadConsents(); await loadBindings(); });
}

async function onRevoke(consent, button) {
  const vars = { user: partyName(consent.data_user), product: partyName(consent.product), provider: partyName(consent.data_provider) };
  if (!window.confirm(fmt(T.revoke_confirm, vars))) return;
  await busy([button], async () => {
    await api("POST", "/app/consents/" + encodeURIComponent(consent.id) + "/revoke", { device: state.device, base: config.exchangeApi });
    await loadConsents();
    notify(fmt(T.revoked, vars));
    // Keep the keyboard user's place: focus the (now revoked) consent.
    const item = Array.from($("consents").children).find((li) => li.dataset.consentId === consent.id);
    if (item) item.focus();
  });
}
