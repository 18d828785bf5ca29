/* rtp demo storefront: consent banner, add to cart, the returns form. Plain JS. */
(function () {
  "use strict";
  var cfg = window.RTP_CONFIG || {};
  function ready(fn) { if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn); else fn(); }
  ready(function () {
    var banner = document.getElementById("consent");
    var stored = null;
    try { stored = localStorage.getItem("rtp.consent"); } catch (e) { stored = null; }
    if (banner && cfg.consentRequired && stored === null) {
      banner.hidden = false;
      banner.querySelector("[data-consent=yes]").onclick = function () { window.rtp.consent(true); banner.hidden = true; };
      banner.querySelector("[data-consent=no]").onclick = function () { window.rtp.consent(false); banner.hidden = true; };
    }
    Array.prototype.forEach.call(document.querySelectorAll("[data-add-to-cart]"), function (button) {
      button.addEventListener("click", function () {
        window.rtp.track("add_to_cart", { product: button.getAttribute("data-add-to-cart"), quantity: 1,
          value: Number(button.getAttribute("data-price")), currency: "EUR" });
        button.textContent = "Added to cart";
      });
    });
    var form = document.getElementById("return-request");
    if (form) form.addEventListener("submit", function (e) { e.preventDefault(); form.querySelector("output").textContent = "Thanks, we will e-mail you a return label."; });
  });
})();
