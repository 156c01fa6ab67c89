/* Paints each credential type's card (.type-card) in the department's colours, given as
 * data-background and data-color (#rgb or #rrggbb; anything else keeps the stylesheet's
 * default). Through the CSSOM, which the Content-Security-Policy (style-src 'self') allows
 * where a style attribute is refused. */
(function () {
  "use strict";
  var COLOUR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;
  document.querySelectorAll(".type-card[data-background], .type-card[data-color]").forEach(function (card) {
    if (COLOUR.test(card.dataset.background || "")) card.style.backgroundColor = card.dataset.background;
    if (COLOUR.test(card.dataset.color || "")) card.style.color = card.dataset.color;
  });
})();
