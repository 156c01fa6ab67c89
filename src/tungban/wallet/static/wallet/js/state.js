/* The app's configuration (from the page's #app element) and its state while it runs. */

const root = document.getElementById("app");
const data = root ? root.dataset : {};

export const config = {
  root,
  api: data.api || "/api/v1/wallet",
  exchangeApi: data.exchangeApi || "/api/v1/exchange",
  credentialsApi: data.credentialsApi || "/api/v1/credentials",
  federationApi: data.federationApi || "/api/v1/federation",
  jwks: data.jwks || "/oidc/jwks",
  home: data.home || "/app/",
  approvalId: data.approvalId || "",
  sw: data.sw || "",
};

export const state = {
  device: null, request: null, timer: null, pendingBinding: null, homeLoadedAt: 0,
  credentials: null, credentialsAt: 0, credential: null, presentTimer: null,
};

/** Set by main.js: ``route()`` shows the screen the address asks for. */
export const nav = { route: async () => {} };
