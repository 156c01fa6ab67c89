/* The personal assistant panel (#assistant, issue 16): the cards the resident chose, each
 * with where its data came from, and choosing, removing and reordering them. Card kinds are
 * registered on the platform (tungban/wallet/cards.py); this screen knows none by name. */

import { api } from "../lib/api.js";
import { fmt } from "../lib/messages.js";
import { config, state } from "../state.js";
import { $, busy, el, notify, show } from "../ui/dom.js";
import { dateTime } from "../ui/format.js";

export const ASSISTANT_ROUTE = /^#assistant$/;
const A = {};
const strings = document.getElementById("i18n-assistant");
if (strings) strings.content.querySelectorAll("[data-k]").forEach((s) => { A[s.dataset.k] = s.textContent.trim(); });



function cardItem(card) {
  const headId = "panel-card-" + card.kind.replace(/\W/g, "-");
  const body = [];
  if (card.items.length) {
    body.push(el("dl", { class: "fields compact" }, card.items.map((i) => el("div", {}, el("dt", { text: i.label }),
      el("dd", {}, i.href ? el("a", { href: i.href, text: i.value }) : i.value)))));
  }
  if (card.message) body.push(el("p", { class: "hint card-message", text: card.message }));
  card.sources.forEach((s) => body.push(el("p", { class: "hint card-source", text: fmt(A.source, { department: s.department, product: s.product, time: dateTime(s.fetched_at) }) })));
  if (card.action) {
    const button = el("button", { class: "btn block card-action", type: "button", "aria-describedby": headId, text: card.action });
    button.addEventListener("click", () => busy([button], async () => {
      const answer = await api("POST", "/panel/cards/" + encodeURIComponent(card.kind) + "/action", { device: state.device });
      if (answer && answer.approval_id) location.assign(config.home + "approve/" + encodeURIComponent(answer.approval_id));
      else render(await api("GET", "/panel", { device: state.device })); // e.g. "Refresh": the card anew
    }));
    body.push(button);
  }
  return el("li", { class: "item panel-card", "data-kind": card.kind, "data-state": card.state },
    el("h2", { id: headId, text: card.label }), body);
}

function manageItem(kind, chosen) {
  const at = chosen.indexOf(kind.kind);
  const on = at >= 0;
  const headId = "panel-kind-" + kind.kind.replace(/\W/g, "-");
  const buttons = [];
  const button = (text, cls, next) => {
    const b = el("button", { class: "btn secondary " + cls, type: "button", "aria-describedby": headId, text });
    b.addEventListener("click", () => save(next(), kind.kind, cls));
    buttons.push(b);
  };
  if (on) {
    if (at > 0) button(A.up, "up", () => { const n = chosen.slice(); [n[at - 1], n[at]] = [n[at], n[at - 1]]; return n; });
    if (at < chosen.length - 1) button(A.down, "down", () => { const n = chosen.slice(); [n[at + 1], n[at]] = [n[at], n[at + 1]]; return n; });
    button(A.remove, "remove", () => chosen.filter((k) => k !== kind.kind));
  } else {
    button(A.add, "add", () => chosen.concat([kind.kind]));
  }
  return el("li", { class: "item", "data-kind": kind.kind, "data-on": String(on) },
    el("div", { class: "item-head" }, el("strong", { id: headId, text: kind.label }),
      el("span", { class: "badge", text: on ? A.on_panel : A.off_panel })),
    el("p", { class: "hint", text: kind.description }),
    el("div", { class: "row" }, buttons));
}

function render(panel) {

  const chosen = panel.cards.map((c) => c.kind);
  $("panel-cards").replaceChildren(...panel.cards.map(cardItem));
  $("panel-empty").hidden = panel.cards.length > 0;
  // Chosen kinds first, in panel order, then the others.
  const offered = chosen.map((k) => panel.offered.find((o) => o.kind === k)).filter(Boolean)
    .concat(panel.offered.filter((o) => !chosen.includes(o.kind)));
  $("panel-manage").replaceChildren(...offered.map((k) => manageItem(k, chosen)));
}

async function save(kinds, kind, cls) {
  await busy([], async () => {
    render(await api("PUT", "/panel", { device: state.device, body: { cards: kinds } }));
    notify(A.saved);
    // Keep the keyboard user's place: the same kind's first button (or its row).
    const row = $("panel-manage").querySelector('li[data-kind="' + kind + '"]');
    if (row) (row.querySelector("button." + cls) || row.querySelector("button") || row).focus();
  });
}

export async function showAssistant() {
  show("screen-assistant");
  $("panel-cards").replaceChildren();
  $("panel-empty").hidden = true;
  await busy([], async () => render(await api("GET", "/panel", { device: state.device })));
}

