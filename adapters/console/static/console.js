// Live refresh: the page reloads when the ledger's head moves (every change writes it),
// unless the person is typing in a form, so nothing they wrote is lost.
(function () {
  "use strict";
  var url = document.body.getAttribute("data-live");
  if (!url || !window.fetch) { return; }
  // What the page shows: the ledger's head when the server drew it.
  var seen = Number(document.body.getAttribute("data-mark"));
  function typing() {
    var fields = document.querySelectorAll("textarea, input[type=text], input:not([type])");
    for (var i = 0; i < fields.length; i++) { if (fields[i].value) { return true; } }
    var active = document.activeElement;
    return !!active && /^(TEXTAREA|INPUT|SELECT)$/.test(active.tagName);
  }
  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (body) {
        if (!body) { return; }
        if (body.mark !== seen && !typing()) { window.location.reload(); }
      })
      .catch(function () { /* the server restarting: try again next time */ });
  }
  poll();
  window.setInterval(poll, 5000);
})();
