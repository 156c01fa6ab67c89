// The protocol vectors (see ../test_protocol_vectors.py): this run's, when pytest gives
// TUNGBAN_PROTOCOL_VECTORS, else the committed copy next to this file. What the app's modules
// make from them is collected with `made()` and written to TUNGBAN_JS_MADE for pytest to check.
import { readFileSync, writeFileSync } from "node:fs";
import { after } from "node:test";

const path = process.env.TUNGBAN_PROTOCOL_VECTORS || new URL("./protocol-vectors.json", import.meta.url);
export const vectors = JSON.parse(readFileSync(path, "utf-8"));

const collected = {};
/** Record an output of the app's code for the Python side to verify. */
export function made(name, value) {
  collected[name] = value;
  if (process.env.TUNGBAN_JS_MADE) {
    // Each test file runs in its own process: merge with what the others wrote.
    let previous = {};
    try { previous = JSON.parse(readFileSync(process.env.TUNGBAN_JS_MADE, "utf-8")); } catch (e) { previous = {}; }
    writeFileSync(process.env.TUNGBAN_JS_MADE, JSON.stringify({ ...previous, ...collected }));
  }
}
export { after };

export const APP = new URL("../../static/wallet/js/", import.meta.url);
/** Import an app module, e.g. ``await app("lib/jose.js")``. */
export const app = (path) => import(new URL(path, APP));
