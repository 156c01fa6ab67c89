/* The payment page (payments/pay/order.html): asks the platform for the order's state every few
 * seconds and reloads the page once the payment has arrived or the order has ended, so the
 * payer sees "Paid" without doing anything. No inline script (strict CSP). */

const order = document.getElementById("order");
const INTERVAL_MS = 2000;

async function poll() {
  try {
    const answer = await fetch(order.dataset.statusUrl, { headers: { Accept: "application/json" }, cache: "no-store" });
    if (answer.ok) {
      const status = await answer.json();
      if (status.paid || status.finished || status.state !== order.dataset.state) {
        location.reload();
        return;
      }
    }
  } catch (e) {
    /* offline for a moment: try again */
  }
  setTimeout(poll, INTERVAL_MS);
}

if (order && order.hasAttribute("data-poll")) setTimeout(poll, INTERVAL_MS);
