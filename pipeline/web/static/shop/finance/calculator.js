/* Northbank demo: the mortgage calculator; every change is a calculator_change for rtp
   (the numbers themselves are never sent). */
(function () {
  "use strict";
  function ready(fn) { if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn); else fn(); }
  ready(function () {
    var form = document.getElementById("mortgage");
    function monthly() {
      var p = Number(form.amount.value), n = Number(form.years.value) * 12, r = Number(form.rate.value) / 1200;
      var m = r ? p * r / (1 - Math.pow(1 + r, -n)) : p / n;
      document.getElementById("monthly").textContent = isFinite(m) ? "€" + Math.round(m) : "–";
    }
    monthly();
    form.addEventListener("change", function (e) {
      monthly();
      window.rtp.track("custom", { name: "calculator_change", props: { calculator: "mortgage", input: e.target.name } });
    });
  });
})();
