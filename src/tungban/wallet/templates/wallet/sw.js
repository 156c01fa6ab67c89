{% load static %}/* The tungban app's service worker (/app/sw.js, scope /app/): caches the app shell for an
 * offline start; API calls always go to the network. SHELL names every module of the app
 * (wallet/static/wallet/js/; a test checks that none is missing). */
const C = "tungban-app-v4";
const SHELL = [
  "{% url 'wallet:app' %}",
  "{% static 'core/site.css' %}",
  "{% static 'wallet/app.css' %}",
  "{% static 'wallet/miniapps.css' %}",
  "{% static 'core/vendor/qrcode-generator.js' %}",
  "{% static 'wallet/js/main.js' %}",
  "{% static 'wallet/js/state.js' %}",
  "{% static 'wallet/js/lib/api.js' %}",
  "{% static 'wallet/js/lib/compare.js' %}",
  "{% static 'wallet/js/lib/decision.js' %}",
  "{% static 'wallet/js/lib/inbox.js' %}",
  "{% static 'wallet/js/lib/encoding.js' %}",
  "{% static 'wallet/js/lib/jose.js' %}",
  "{% static 'wallet/js/lib/log.js' %}",
  "{% static 'wallet/js/lib/messages.js' %}",
  "{% static 'wallet/js/lib/miniapp-bridge.js' %}",
  "{% static 'wallet/js/lib/qr.js' %}",
  "{% static 'wallet/js/lib/sdjwt.js' %}",
  "{% static 'wallet/js/lib/presets.js' %}",
  "{% static 'wallet/js/lib/personal_code.js' %}",
  "{% static 'wallet/js/screens/personal_code.js' %}",
  "{% static 'wallet/js/lib/store.js' %}",
  "{% static 'wallet/js/lib/webauthn.js' %}",
  "{% static 'wallet/js/ui/dom.js' %}",
  "{% static 'wallet/js/ui/format.js' %}",
  "{% static 'wallet/js/ui/strings.js' %}",
  "{% static 'wallet/js/screens/approve.js' %}",
  "{% static 'wallet/js/screens/assistant.js' %}",
  "{% static 'wallet/js/screens/bind.js' %}",
  "{% static 'wallet/js/screens/consents.js' %}",
  "{% static 'wallet/js/screens/docpages.js' %}",
  "{% static 'wallet/js/screens/credentials.js' %}",
  "{% static 'wallet/js/screens/home.js' %}",
  "{% static 'wallet/js/screens/miniapps.js' %}",
  "{% static 'wallet/js/screens/inbox.js' %}",
  "{% static 'wallet/js/screens/bills.js' %}",
];

self.addEventListener("install", (e) => e.waitUntil(caches.open(C).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting())));
self.addEventListener("activate", (e) => e.waitUntil(
  caches.keys().then((names) => Promise.all(names.filter((n) => n !== C).map((n) => caches.delete(n)))).then(() => self.clients.claim())));
self.addEventListener("fetch", (e) => {
  const u = new URL(e.request.url);
  if (e.request.method !== "GET" || u.pathname.startsWith("/api/")) return;
  e.respondWith(fetch(e.request).catch(() => caches.match(e.request).then((r) => r || caches.match("{% url 'wallet:app' %}"))));
});
// Web Push (issue 16; RFC 8030/8291/8292): the browser decrypts the platform's message, this shows it.
// The payload is {id, title, body, url} (tungban.notify.services.push_payload); the app verifies
// the message's signature when it is opened from the inbox.
self.addEventListener("push", (e) => {
  let d = {};
  try { d = e.data ? e.data.json() : {}; } catch (err) { d = {}; }
  e.waitUntil(self.registration.showNotification(d.title || "tungban 通辦", {
    body: d.body || "", tag: d.id || undefined, icon: "{% static 'wallet/icon.svg' %}",
    data: { url: d.url || "{% url 'wallet:app' %}#inbox" },
  }));
});
self.addEventListener("notificationclick", (e) => {
  e.notification.close();
  const url = new URL((e.notification.data && e.notification.data.url) || "{% url 'wallet:app' %}#inbox", self.location.origin).href;
  e.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((list) => {
    const open = list.find((c) => new URL(c.url).pathname === "{% url 'wallet:app' %}");
    return open ? open.navigate(url).then((c) => (c || open).focus()) : self.clients.openWindow(url);
  }));
});
