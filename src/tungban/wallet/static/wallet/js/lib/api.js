/* Calls to the platform's app APIs (wallet, exchange gateway, e-licences), each with a fresh
 * device proof (lib/jose.js deviceProof). Refusals become an AppError carrying the platform's
 * error code (the DomainError JSON shape of tungban.core.errors: {error, message, field}). */

import { deviceProof } from "./jose.js";
import { T, fmt } from "./messages.js";

/** An error to show: ``code`` (the platform's, or the app's own such as ``network``), a
 * translated ``message``, the form ``field`` at fault (or null) and the HTTP ``status`` (0: none). */
export class AppError extends Error {
  constructor(code, message, field, status) {
    super(message);
    this.code = code;
    this.field = field || null;
    this.status = status || 0;
  }
}

const config = { base: "/api/v1/wallet", lang: "zh-Hant-HK", origin: "" };

/** Set the default API base path, the Accept-Language and the origin of ``htu`` (default:
 * ``location.origin``). */
export function configureApi(options) {
  Object.assign(config, options);
}

/** Call an API; returns the Response (refusals throw an AppError with the platform's code).
 * ``device``: ``{deviceId, keyPair}`` to sign the call's proof (none: an unauthenticated call);
 * ``base``: the API's path (default the wallet API); ``accept``: the media type wanted (JSON
 * unless a file, e.g. a PDF). */
export async function apiFetch(method, path, { body, device, base = config.base, accept = "application/json" } = {}) {
  const headers = { Accept: accept, "Accept-Language": config.lang };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (device) {
    // A fresh proof per call: the shape of a DPoP proof (RFC 9449 §4.2).
    const url = (config.origin || location.origin) + base + path;
    headers.Authorization = "Device " + (await deviceProof({ method, url, deviceId: device.deviceId, privateKey: device.keyPair.privateKey }));
  }
  let resp;
  try {
    resp = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin", cache: "no-store" });
  } catch (err) {
    throw new AppError("network", T.network);
  }
  if (!resp.ok) {
    let d = null;
    try { d = await resp.json(); } catch (err) { d = null; }
    d = d || {};
    throw new AppError(d.error || "http_" + resp.status, d.message || fmt(T.http_error, { status: resp.status }), d.field, resp.status);
  }
  return resp;
}

/** As apiFetch; returns the JSON body (null for 204 No Content or a body that is no JSON). */
export async function api(method, path, options) {
  const resp = await apiFetch(method, path, options);
  if (resp.status === 204) return null;
  try { return await resp.json(); } catch (err) { return null; }
}
