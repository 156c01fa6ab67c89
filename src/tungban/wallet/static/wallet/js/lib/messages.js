/* The translated strings the app shows ({key: text}). ui/strings.js fills them from the page's
 * <template id="i18n">; unit tests fill them directly. */

/** Translated strings by key (empty until ui/strings.js runs). */
export const T = {};

/** ``text`` with each ``{name}`` replaced by ``vars[name]`` (unknown names are left as they are). */
export const fmt = (text, vars) => String(text || "").replace(/\{(\w+)\}/g, (m, k) => (k in vars ? vars[k] : m));
