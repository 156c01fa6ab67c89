/* Mini-programs (#miniapps, #miniapps/<id>): the list, and one mini-app running in a
 * sandboxed iframe with its MessagePort bridge (lib/miniapp-bridge.js) and its permissions.
 *
 * The iframe gets sandbox="allow-scripts" only: an opaque origin (no cookies, storage or DOM
 * of the app), no top navigation, forms or pop-ups; its files carry a CSP with no network
 * (tungban/miniapps/constants.py BUNDLE_CSP). The app keeps the port's other end: the device
 * key never leaves the app, and the platform checks every grant again. */

import { api } from "../lib/api.js";
import { fmt } from "../lib/messages.js";
import { BRIDGE_TYPE, BRIDGE_VERSION, createBroker } from "../lib/miniapp-bridge.js";
import { config, state } from "../state.js";
import { $, busy, el, notify, show } from "../ui/dom.js";

export const MINIAPP_ROUTE = /^#miniapps(?:\/([a-z0-9-]{1,40}))?$/;
const BASE = (config.root && config.root.dataset.miniappsApi) || "/api/v1/miniapps";
const M = {};
const strings = document.getElementById("i18n-miniapps");
if (strings) strings.content.querySelectorAll("[data-k]").forEach((s) => { M[s.dataset.k] = s.textContent.trim(); });

const call = (method, path) => api(method, path, { device: state.device, base: BASE });
let running = null; // {app, port, frame}

function stop() {
  if (!running) return;
  if (running.port) running.port.close();
  $("miniapp-frame-box").replaceChildren();
  $("miniapp-prompt").hidden = true;
  running = null;
}

/** Route ``#miniapps`` or ``#miniapps/<id>`` (the regexp's match). */
export async function showMiniappRoute(match) {
  if (match[1]) await showMiniapp(match[1]);
  else await showMiniapps();
}

export async function showMiniapps() {
  stop();
  show("screen-miniapps");
  $("miniapps").replaceChildren();
  $("miniapps-empty").hidden = true;
  await busy([], async () => {
    const apps = await call("GET", "/");
    $("miniapps").replaceChildren(...apps.map((a) => el("li", { class: "item", "data-miniapp-id": a.id },
      el("a", { class: "item-link", href: config.home + "#miniapps/" + a.id },
        el("strong", { text: a.name }),
        el("span", { class: "hint", text: fmt(M.by, { publisher: a.publisher }) }),
        el("span", { class: "go", text: M.open })),
      a.description ? el("p", { class: "hint", text: a.description }) : null)));
    $("miniapps-empty").hidden = apps.length > 0;
  });
}

function permissionItem(app, p) {
  const status = !p.available ? M.unavailable : p.granted ? M.allowed : M.not_allowed;
  const headId = "miniapp-perm-" + p.id.replace(/\W/g, "-");
  const item = el("li", { class: "item", "data-permission": p.id, "data-granted": String(p.granted) },
    el("div", { class: "item-head" },
      el("strong", { id: headId, text: p.label }),
      el("span", { class: "badge status " + (p.granted ? "status-active" : ""), text: p.granted && !p.available ? M.allowed + " · " + M.unavailable : status })),
    el("p", { class: "hint", text: p.detail }));
  if (p.granted) {
    const button = el("button", { class: "btn danger revoke", type: "button", "aria-describedby": headId, text: M.revoke });
    button.addEventListener("click", () => busy([button], async () => {
      await call("DELETE", "/" + encodeURIComponent(app.id) + "/grants/" + encodeURIComponent(p.id));
      p.granted = false;
      renderPermissions(app);
      notify(fmt(M.revoked, { permission: p.label, name: app.name }));
    }));
    item.append(button);
  }
  return item;
}

function renderPermissions(app) {
  $("miniapp-perms").replaceChildren(...app.permissions.map((p) => permissionItem(app, p)));
}

/** Ask the resident in the app (never inside the mini-app's frame); resolves true to allow. */
function askResident(app, perm) {
  return new Promise((resolve) => {
    const box = $("miniapp-prompt");
    $("miniapp-prompt-title").textContent = fmt(M.asks, { name: app.name, permission: perm.label });
    // Not available yet (e.g. a payment): say so, with only Close; the mini-program gets the
    // documented refusal, permission_denied (issue 16, polish16 item 5).
    const offered = perm.available !== false;
    $("miniapp-prompt-detail").textContent = offered ? perm.detail : M.unavailable_detail;
    $("miniapp-prompt-hint").hidden = !offered;
    $("miniapp-allow").hidden = !offered;
    $("miniapp-deny").hidden = !offered;
    $("miniapp-close").hidden = offered;
    box.hidden = false;
    box.focus();
    const done = (answer) => {
      box.hidden = true;
      $("miniapp-allow").onclick = null;
      $("miniapp-deny").onclick = null;
      $("miniapp-close").onclick = null;
      if (offered) notify(fmt(answer ? M.granted : M.refused, { permission: perm.label }));
      // Back to the mini-program, where the question came from (the prompt is gone).
      if (running && running.frame) running.frame.focus();
      resolve(answer);
    };
    $("miniapp-allow").onclick = () => done(true);
    $("miniapp-deny").onclick = () => done(false);
    $("miniapp-close").onclick = () => done(false);
  });
}

export async function showMiniapp(id) {
  stop();
  show("screen-miniapp");
  $("miniapp-title").textContent = "";
  $("miniapp-publisher").textContent = "";
  $("miniapp-perms").replaceChildren();
  await busy([], async () => {
    const app = await call("GET", "/" + encodeURIComponent(id));
    $("miniapp-title").textContent = app.name;
    $("miniapp-publisher").textContent = fmt(M.by, { publisher: app.publisher });
    renderPermissions(app);
    const broker = createBroker({
      app,
      lang: document.documentElement.lang || "zh-Hant-HK",
      launch: () => call("GET", "/" + encodeURIComponent(app.id) + "/launch"),
      ask: (perm) => askResident(app, perm),
      grant: async (pid) => {
        await call("PUT", "/" + encodeURIComponent(app.id) + "/grants/" + encodeURIComponent(pid));
        renderPermissions(app);
      },
      fetchData: async (pid) => {
        try {
          return await call("GET", "/" + encodeURIComponent(app.id) + "/data/" + encodeURIComponent(pid));
        } finally {
          renderPermissions(app); // a refusal may have found the grant revoked meanwhile
        }
      },
      text: (code) => M["code_" + code] || code,
    });
    const frame = el("iframe", {
      id: "miniapp-frame", class: "miniapp-frame", sandbox: "allow-scripts", referrerpolicy: "no-referrer",
      title: fmt(M.frame_title, { name: app.name }), src: app.entry_url,
    });
    running = { app, frame, port: null };
    const mine = running;
    frame.addEventListener("load", () => {
      if (running !== mine) return;
      if (mine.port) mine.port.close(); // reloaded inside: a fresh channel, the old port is dead
      const channel = new MessageChannel();
      mine.port = channel.port1;
      channel.port1.onmessage = async (event) => {
        const reply = await broker.handle(event.data);
        if (running === mine) channel.port1.postMessage(reply);
      };
      // An opaque origin has no name to target: "*", but only this frame's window gets the port.
      frame.contentWindow.postMessage({ type: BRIDGE_TYPE, version: BRIDGE_VERSION }, "*", [channel.port2]);
    });
    $("miniapp-frame-box").replaceChildren(frame);
  });
}

/** Leaving the screen ends the mini-app (its frame and port). */
export function onScreenShown(id) {
  if (id !== "screen-miniapp") stop();
}
