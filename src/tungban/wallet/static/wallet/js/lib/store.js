/* The device record in IndexedDB (database "tungban-app", store "device", key "current"):
 * ``{keyPair, deviceId, resident, credentialId, boundAt, origin}``. The CryptoKeyPair is stored
 * by structured clone, which keeps its private key non-extractable. */

const DB_NAME = "tungban-app";
const STORE = "device";

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function withStore(mode, fn) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = fn(tx.objectStore(STORE));
    tx.oncomplete = () => { db.close(); resolve(req ? req.result : undefined); };
    tx.onerror = tx.onabort = () => { db.close(); reject(tx.error); };
  });
}

/** The bound device, or undefined. */
export const loadDevice = () => withStore("readonly", (s) => s.get("current"));
export const saveDevice = (device) => withStore("readwrite", (s) => s.put(device, "current"));
/** Forget the device and everything kept with it (cached e-licences, personal-code keys). */
export const forgetDevice = () => withStore("readwrite", (s) => s.clear());

/** Other records of the app kept beside the device in the same store (issue 16): e.g.
 * ``"credentials"`` (the e-licences last fetched, shown offline) or a personal-code
 * credential and key per verifier. ``forgetDevice`` clears them with the device. */
export const loadRecord = (key) => withStore("readonly", (s) => s.get(key));
export const saveRecord = (key, value) => withStore("readwrite", (s) => s.put(value, key));
export const forgetRecord = (key) => withStore("readwrite", (s) => s.delete(key));
