/* The pages of a PDF to sign, shown in the app (issue 16): rendered by the platform from the
 * submitted PDF (GET /api/v1/signing/app/requests/<id>/documents/<i>/pages/<n>, PNG, the page
 * count in X-Page-Count), fetched with the device's proof only when the resident opens
 * "Read the document", shown as data: URLs (the app's CSP allows data: images, not blob:). */

import { apiFetch } from "../lib/api.js";
import { T, fmt } from "../lib/messages.js";
import { state } from "../state.js";
import { el } from "../ui/dom.js";

const BASE = "/api/v1/signing";
const MOST = 20; // pages shown at most (a longer document: the rest on the service's page)

function dataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

async function page(req, index, n) {
  const path = "/app/requests/" + encodeURIComponent(req.id) + "/documents/" + index + "/pages/" + n;
  const resp = await apiFetch("GET", path, { device: state.device, base: BASE, accept: "image/png" });
  return { src: await dataUrl(await resp.blob()), pages: parseInt(resp.headers.get("X-Page-Count") || "1", 10) };
}

/** A "Read the document" disclosure for document ``index`` of ``req`` (its pages load when
 * opened); hidden if the request carries only digests (``no_preview``). */
export function documentPages(req, index, name) {
  const box = el("div", { class: "doc-pages-list", "aria-live": "polite" });
  const details = el("details", { class: "doc-pages", id: "document-" + index + "-pages" },
    el("summary", { text: T.read_document }), box);
  let loaded = false;
  details.addEventListener("toggle", async () => {
    if (!details.open || loaded) return;
    loaded = true;
    box.replaceChildren(el("p", { class: "hint", text: T.loading_pages }));
    try {
      const first = await page(req, index, 1);
      const total = Math.min(first.pages, MOST);
      const image = (src, n) => el("img", { src, class: "doc-page", alt: fmt(T.page_of, { n, total: first.pages, name }) });
      box.replaceChildren(image(first.src, 1));
      for (let n = 2; n <= total; n += 1) {
        if (state.request !== req) return;
        box.append(image((await page(req, index, n)).src, n));
      }
      if (first.pages > MOST) box.append(el("p", { class: "hint", text: fmt(T.more_pages, { n: first.pages - MOST }) }));
    } catch (err) {
      if (err && err.code === "no_preview") { details.hidden = true; return; }
      loaded = false;
      box.replaceChildren(el("p", { class: "warning", text: (err && err.message) || String(err) }));
    }
  });
  return details;
}
