/* Wanderbed demo: refreshing the results re-checks the (scripted) live inventory, where the
   first hotel loses a room at each check, and tells rtp (listing_refresh with rooms_left). */
(function () {
  "use strict";
  var LISTING = "paris-montmartre", checks = 1;
  function ready(fn) { if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn); else fn(); }
  ready(function () {
    var first = document.getElementById("hotel-sacre-coeur");
    document.getElementById("refresh").addEventListener("click", function () {
      var left = Math.max(1, Number(first.getAttribute("data-availability")) - 1);
      first.setAttribute("data-availability", String(left));
      first.querySelector(".left").textContent = String(left);
      checks += 1;
      document.getElementById("checked").textContent = "Availability checked " + checks + " times";
      window.rtp.track("custom", { name: "listing_refresh",
        props: { listing: LISTING, hotel: "sacre-coeur", rooms_left: String(left) } });
    });
  });
})();
