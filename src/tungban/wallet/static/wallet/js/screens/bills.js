/* Bills (#bills, #bills/<id>; issue 18, e-payment): the bills departments sent the resident
 * (posted through the payments API, or the water bill obtained under their consent), with what
 * is still to pay and the due date, and paying one by FPS — the bank-app link on this phone, or
 * the dynamic QR code for another device. The screen asks the platform until the bill is paid.
 * HTTP only (/api/v1/payments/app/…): the wallet imports nothing of the payments app. */

import { api } from "../lib/api.js";
import { fmt } from "../lib/messages.js";
import { config, state } from "../state.js";
import { $, busy, el, onShow, show } from "../ui/dom.js";
import { dateOnly, dateTime } from "../ui/format.js";

export const BILLS_ROUTE = /^#bills(?:\/([0-9a-f-]{36}))?$/;
const S = {};
const strings = document.getElementById("i18n-bills");
if (strings) strings.content.querySelectorAll("[data-k]").forEach((e) => { S[e.dataset.k] = e.textContent.trim(); });

const base = () => (config.root && config.root.dataset.paymentsApi) || "/api/v1/payments";
const call = (method, path) => api(method, path, { device: state.device, base: base() });
const POLL_MS = 3000;
let poll = null;

function stopPolling() {
  if (poll) clearTimeout(poll);
  poll = null;
}
onShow((id) => { if (id !== "screen-bill") stopPolling(); });

function dueText(b) {
  return fmt(b.overdue ? S.overdue : S.due, { date: dateOnly(b.due_date) });
}

function billItem(b) {
  const open = b.state === "open";
  const link = el("a", { class: "item-link", href: config.home + "#bills/" + b.bill_id },
    el("strong", { class: "bill-description", text: b.description }),
    el("span", { class: "badge bill-state state-" + b.state + (b.overdue ? " overdue" : ""), text: b.state_label }),
    el("span", { class: "bill-department hint", text: b.department }),
    el("span", { class: "bill-amount", text: open ? b.balance_text : b.amount_text }),
    open ? el("span", { class: "hint bill-due", text: dueText(b) }) : null,
    el("span", { class: "go", text: "" }));
  return el("li", { class: "item bill", "data-bill-id": b.bill_id, "data-state": b.state }, link);
}

/** The list: open bills first (soonest due first), then the others. */
export async function showBills() {
  show("screen-bills");
  $("bills").replaceChildren();
  $("bills-empty").hidden = true;
  await busy([], async () => {
    const found = await call("GET", "/app/bills");
    $("bills").replaceChildren(...found.map(billItem));
    $("bills-empty").hidden = found.length > 0;
  });
}

function paintBill(b) {
  $("bill-title").textContent = b.description;
  $("bill-department").textContent = b.source === "exchange" ? b.department + " · " + S.from_consent : b.department;
  $("bill-amount").textContent = b.amount_text;
  $("bill-balance").textContent = b.balance_text;
  $("bill-balance-row").hidden = b.state !== "open";
  $("bill-due").textContent = b.overdue ? dueText(b) : dateOnly(b.due_date);
  $("bill-state").textContent = b.state_label;
  $("bill-state").className = "badge bill-state state-" + b.state + (b.overdue ? " overdue" : "");
  $("bill-account").textContent = b.account;
  $("bill-account-row").hidden = !b.account;
  $("bill-reference").textContent = b.bill_reference;
  $("screen-bill").dataset.state = b.state;
  $("screen-bill").dataset.billId = b.bill_id;
  const open = b.state === "open";
  $("bill-pay").hidden = !open || !$("bill-fps").hidden;
  if (!open) {
    stopPolling();
    $("bill-fps").hidden = true;
    $("bill-pay").hidden = true;
    $("bill-paid").hidden = false;
    $("bill-paid").textContent = b.state === "paid" && b.paid_at
      ? fmt(S.paid_on, { date: dateTime(b.paid_at) })
      : fmt(S.settled, { state: b.state_label });
  } else {
    $("bill-paid").hidden = true;
  }
}

async function watch(id) {
  stopPolling();
  poll = setTimeout(async () => {
    try {
      const b = await call("GET", "/app/bills/" + encodeURIComponent(id));
      if ($("screen-bill").hidden || $("screen-bill").dataset.billId !== id) return;
      paintBill(b);
      if (b.state === "open") watch(id);
    } catch (e) {
      watch(id); // offline for a moment: ask again
    }
  }, POLL_MS);
}

async function onPay() {
  const id = $("screen-bill").dataset.billId;
  await busy([$("bill-pay")], async () => {
    const answer = await api("POST", "/app/bills/" + encodeURIComponent(id) + "/pay", { device: state.device, base: base() });
    const f = answer.fps;
    $("bill-qr").src = f.qr;
    $("bill-qr").alt = fmt(S.qr_alt, { amount: answer.bill.balance_text, reference: f.reference_grouped });
    $("bill-bank-link").href = f.bank_link;
    $("bill-expires").textContent = fmt(S.pay_by, { time: dateTime(f.expires_at) });
    $("bill-fps").hidden = false;
    paintBill(answer.bill);
    $("bill-bank-link").focus();
    watch(id);
  });
}

/** One bill, and paying it. */
export async function showBill(id) {
  show("screen-bill");
  stopPolling();
  $("bill-fps").hidden = true;
  $("bill-paid").hidden = true;
  $("bill-pay").hidden = true;
  ["bill-title", "bill-department", "bill-amount", "bill-balance", "bill-due", "bill-state", "bill-account", "bill-reference"].forEach((x) => { $(x).textContent = ""; });
  await busy([], async () => paintBill(await call("GET", "/app/bills/" + encodeURIComponent(id))));
}

export async function showBillsRoute(match) {
  if (match[1]) await showBill(match[1]);
  else await showBills();
}

export function initBills() {
  $("bill-pay").addEventListener("click", () => onPay());
}
