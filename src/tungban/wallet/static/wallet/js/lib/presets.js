/* What "Show to verify" offers in one tap (issue 16: showing only "Aged 65 or over" took four
 * taps because the name was pre-ticked). Pure functions, unit-tested with ``node --test``. */

/** Claims a checker commonly needs alone: an age threshold such as ``age_over_65``. */
const PRESET = /^age_(?:over|equal_or_over)_\d+$/;

/** The one-tap presets of a credential's ``claims`` (``[{name, label}]``): one per age
 * threshold, ``[{name, label}]`` in the credential's order. */
export function presetsFor(claims) {
  return (claims || []).filter((c) => PRESET.test(String(c.name || ""))).map((c) => ({ name: c.name, label: c.label }));
}

/** The claim names ticked when "Show to verify" opens: only those the checker asked for
 * (``requested``, e.g. from a verifier's link) that the credential has; nothing otherwise. */
export function initiallyTicked(claims, requested = []) {
  const have = new Set((claims || []).map((c) => c.name));
  return (requested || []).filter((n) => have.has(n));
}
