/* The mini-program bridge's broker (issue 16, mini-programs): what the app answers a mini-app
 * on its MessagePort. Pure logic (no DOM), unit-tested with `node --test`.
 *
 * The app runs a mini-app in <iframe sandbox="allow-scripts"> (opaque origin) and, once it has
 * loaded, posts it {type: "tungban-bridge", version: 1} with a MessagePort; the mini-app talks
 * only on that port. Requests: {id, method, params}; answers: {id, ok: true, result} or
 * {id, ok: false, error: {code, message}}.
 *
 * Methods:
 *   launch                    → {lang, miniapp, sub, launch_token} (no permission: the
 *                               mini-app's own pairwise id and the platform-signed context)
 *   request {permission}      → the permission's data, deny by default: not declared in the
 *                               manifest → not_declared; unknown → unknown_permission; refused
 *                               in this session → permission_denied (not asked again until the
 *                               mini-app is opened again, as WeChat's scopes); granted → the
 *                               platform's answer; else the resident is asked: no →
 *                               permission_denied, yes → granted, then the platform's answer.
 *                               A permission not available yet (available: false) is not
 *                               offered: the app says so (Close only) and ``ask`` answers
 *                               no → permission_denied (issue 16, polish16 item 5).
 *                               The platform enforces grants itself: a revoked grant answers
 *                               permission_not_granted; a payment, action_not_available.
 * Anything else → bad_request; a second question while one is open → busy.
 */

export const BRIDGE_TYPE = "tungban-bridge";
export const BRIDGE_VERSION = 1;

/** Refusal codes the broker itself gives (the platform's codes pass through unchanged). */
export const CODES = ["bad_request", "unknown_method", "not_declared", "unknown_permission", "permission_denied", "busy"];

/**
 * @param {object} o
 * @param {{id: string, permissions: {id: string, granted: boolean}[]}} o.app  the mini-app (API shape)
 * @param {() => Promise<object>} o.launch      the platform's launch answer ({sub, launch_token})
 * @param {(perm: object) => Promise<boolean>} o.ask   asks the resident; true = allow
 * @param {(id: string) => Promise<void>} o.grant     records the grant with the platform
 * @param {(id: string) => Promise<object>} o.fetchData  the platform's data call (throws {code, message})
 * @param {(code: string) => string} o.text     a refusal code's message in the resident's language
 * @param {string} o.lang
 * @param {Set<string>} [o.known]  permission ids the platform knows (default: the declared ones)
 */
export function createBroker({ app, launch, ask, grant, fetchData, text, lang, known }) {
  const declared = new Map(app.permissions.map((p) => [p.id, p]));
  const refused = new Set();
  let asking = false;
  const fail = (id, code, message) => ({ id, ok: false, error: { code, message: message || text(code) } });

  async function platform(id, permission) {
    try {
      return { id, ok: true, result: await fetchData(permission) };
    } catch (err) {
      if (err && err.code === "permission_not_granted") declared.get(permission).granted = false;
      return fail(id, (err && err.code) || "network", err && err.message);
    }
  }

  async function request(id, params) {
    const permission = params && typeof params.permission === "string" ? params.permission : null;
    if (!permission) return fail(id, "bad_request");
    const perm = declared.get(permission);
    if (!perm) return fail(id, known && known.has(permission) ? "not_declared" : "unknown_permission");
    if (perm.granted) {
      const answer = await platform(id, permission);
      if (answer.ok || answer.error.code !== "permission_not_granted") return answer;
    }
    if (refused.has(permission)) return fail(id, "permission_denied");
    if (asking) return fail(id, "busy");
    asking = true;
    let allowed;
    try {
      allowed = await ask(perm);
    } finally {
      asking = false;
    }
    if (!allowed) {
      refused.add(permission);
      return fail(id, "permission_denied");
    }
    try {
      await grant(permission);
    } catch (err) {
      return fail(id, (err && err.code) || "network", err && err.message);
    }
    perm.granted = true;
    return platform(id, permission);
  }

  /** The answer to one message from the port (never throws). */
  async function handle(message) {
    const id = message && (typeof message.id === "number" || typeof message.id === "string") ? message.id : null;
    if (id === null || typeof message.method !== "string") return fail(id, "bad_request");
    if (message.method === "launch") {
      try {
        const l = await launch();
        return { id, ok: true, result: { lang, miniapp: app.id, sub: l.sub, launch_token: l.launch_token } };
      } catch (err) {
        return fail(id, (err && err.code) || "network", err && err.message);
      }
    }
    if (message.method === "request") return request(id, message.params);
    return fail(id, "unknown_method");
  }

  return { handle, refused };
}
