/* The short comparison code of a signing request (issue 16): 6 characters of Crockford's
 * base 32 from SHA-256("tungban-sign-compare-v1\n" + approval id + "\n" + digests joined by
 * ","), computed here from what the app shows; the same as tungban/signing/compare.py
 * (where the choice of 30 bits is argued). */

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LENGTH = 6;

/** The code of request ``id`` (a UUID) for ``digests`` (SHA-256 hex, in order). */
export async function comparisonCode(id, digests) {
  const message = "tungban-sign-compare-v1\n" + String(id).toLowerCase() + "\n" + digests.map((d) => String(d).toLowerCase()).join(",");
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(message)));
  const bits = ((hash[0] << 24) >>> 0) + (hash[1] << 16) + (hash[2] << 8) + hash[3];
  const top = Math.floor(bits / 4); // the first 30 bits
  let code = "";
  for (let i = LENGTH - 1; i >= 0; i -= 1) code += ALPHABET[Math.floor(top / 2 ** (5 * i)) % 32];
  return code;
}

/** The code as shown: two groups of three. */
export const displayCode = (code) => code.slice(0, 3) + " " + code.slice(3);
