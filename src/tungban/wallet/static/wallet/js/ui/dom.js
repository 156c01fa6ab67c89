/* DOM helpers: elements, screens (one shown at a time, focus moved to its heading), the alert
 * and notice regions, and busy buttons. */

import { config } from "../state.js";

export const $ = (id) => document.getElementById(id);

const SCREENS = ["screen-bind", "screen-home", "screen-consents", "screen-credentials", "screen-credential", "screen-present", "screen-approve", "result", "screen-miniapps", "screen-miniapp", "screen-assistant", "screen-inbox", "screen-message", "screen-bills", "screen-bill"];
const leaveHooks = [];
let firstScreen = true;
/** Called when ``busy`` meets ``device_unbound`` (set by screens/bind.js). */
export const handlers = { unbound: async () => {} };

/** ``fn(id)`` runs whenever screen ``id`` is shown (e.g. to stop a screen's timer). */
export function onShow(fn) {
  leaveHooks.push(fn);
}

/** Show screen ``id`` only; focus its heading except on the page's first paint. */
export function show(id) {
  $("loading").hidden = true;
  config.root.removeAttribute("aria-busy");
  // Also every other .screen (screens added by other features, e.g. the personal code).
  new Set([...SCREENS, ...Array.from(document.querySelectorAll(".screen[id]"), (n) => n.id)]).forEach((s) => { $(s).hidden = s !== id; });
  leaveHooks.forEach((fn) => fn(id));
  if (!firstScreen) {
    const heading = $(id).querySelector("h1");
    if (heading) heading.focus({ preventScroll: false });
  }
  firstScreen = false;
}

export function clearMessages() {
  $("alert").textContent = "";
  $("notice").textContent = "";
  document.querySelectorAll("[aria-invalid=true]").forEach((el) => el.removeAttribute("aria-invalid"));
  document.querySelectorAll(".field-error[id]").forEach((note) => {
    document.querySelectorAll("[aria-describedby~='" + note.id + "']").forEach((input) => {
      const rest = input.getAttribute("aria-describedby").split(/\s+/).filter((id) => id && id !== note.id);
      if (rest.length) input.setAttribute("aria-describedby", rest.join(" "));
      else input.removeAttribute("aria-describedby");
    });
    note.remove();
  });
}

/** Write ``message`` just below ``input`` (id ``<input.id>-error``), tie it to the input with
 * aria-describedby and bring it on screen: the alert region at the top of the page may be far
 * above the field on a phone (issue 16, polish item 1). */
function fieldError(input, message) {
  const note = el("p", { class: "field-error", id: input.id + "-error", text: message });
  input.insertAdjacentElement("afterend", note);
  const described = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
  input.setAttribute("aria-describedby", [note.id, ...described.filter((id) => id !== note.id)].join(" "));
  note.scrollIntoView({ block: "nearest" });
}

export function notify(text) {
  $("notice").textContent = text;
}

/** Show ``err``'s message in the alert region; with ``formPrefix``, mark and focus the field
 * ``<formPrefix>-<err.field>`` it names. */
export function showError(err, formPrefix) {
  const message = (err && err.message) || String(err);
  $("alert").textContent = message;
  if (err && err.field && formPrefix) {
    const target = $(formPrefix + "-" + String(err.field).replace(/[._]/g, "-"));
    if (target) {
      const input = target.matches("input, select, textarea") ? target : target.querySelector("input, select, textarea");
      if (input) {
        input.setAttribute("aria-invalid", "true");
        if (input.id) fieldError(input, message);
        input.focus({ preventScroll: true });
        if (!input.id) input.scrollIntoView({ block: "nearest" });
        return;
      }
    }
  }
  $("alert").scrollIntoView({ block: "nearest" });
}

/** Run ``fn`` with ``buttons`` disabled; errors go to the alert region. */
export async function busy(buttons, fn, formPrefix) {
  clearMessages();
  buttons.forEach((b) => { b.disabled = true; });
  config.root.setAttribute("aria-busy", "true");
  try {
    return await fn();
  } catch (err) {
    if (err && err.code === "device_unbound") {
      await handlers.unbound(err.message);
      return undefined;
    }
    showError(err, formPrefix);
    return undefined;
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
    config.root.removeAttribute("aria-busy");
  }
}

/** A new element: ``attrs`` ``class``, ``text`` or attributes (null/false: left out, true: empty);
 * ``children`` (nested arrays flattened, null skipped). No inline styles: see paint(). */
export function el(tag, attrs, ...children) {
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

/** Set background and text colours through the CSSOM (allowed by the page's CSP, style-src
 * 'self', where a style attribute is not). Returns ``node``. */
export function paint(node, background, color) {
  node.style.backgroundColor = background;
  node.style.color = color;
  return node;
}
