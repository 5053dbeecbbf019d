/* Mission report: severity filter of Threat Detection, every detail opened for print. No network, no data. */
(function () {
  "use strict";
  var counts = document.querySelectorAll("#threat-detection .count[data-severity]");
  var groups = document.querySelectorAll("#threat-detection .severity-group");
  function filter(severity) {
    for (var i = 0; i < groups.length; i++) {
      var show = !severity || groups[i].getAttribute("data-severity") === severity;
      groups[i].hidden = !show;
    }
    for (var j = 0; j < counts.length; j++) {
      counts[j].setAttribute("aria-pressed", String(counts[j].getAttribute("data-severity") === severity));
    }
  }
  var active = "";
  for (var k = 0; k < counts.length; k++) {
    counts[k].addEventListener("click", function (event) {
      var severity = event.currentTarget.getAttribute("data-severity");
      active = active === severity ? "" : severity;
      filter(active);
    });
  }
  var closed = [];
  window.addEventListener("beforeprint", function () {
    filter("");
    closed = Array.prototype.filter.call(document.querySelectorAll("details"), function (d) { return !d.open; });
    closed.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closed.forEach(function (d) { d.open = false; });
    closed = [];
    filter(active);
  });
})();
