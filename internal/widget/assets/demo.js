// The demo app: calls its own backend, embeds the widget and logs the
// postMessage events it receives.
(function () {
  "use strict";
  var events = document.getElementById("events");
  var connection = document.getElementById("connection");
  var frame = document.getElementById("frame");
  var current = null;
  var log = [];
  function print(pre, v) { pre.textContent = typeof v === "string" ? v : JSON.stringify(v, null, 2); }
  function refresh() {
    if (!current) return;
    fetch("/demo/api/connections/" + encodeURIComponent(current)).then(function (r) { return r.json(); }).then(function (c) { print(connection, c); });
  }
  window.addEventListener("message", function (e) {
    if (e.origin !== location.origin || !e.data || e.data.domain !== "meld-connect") return;
    log.push({ eventName: e.data.eventName, metadata: e.data.metadata });
    print(events, log);
    if (e.data.eventName === "connect_complete") refresh();
    if (e.data.eventName === "exit") { frame.replaceChildren(); refresh(); }
  });
  document.getElementById("start").addEventListener("click", function () {
    var id = document.getElementById("customer").value.trim() || "demo-customer";
    fetch("/demo/api/start", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ externalCustomerId: id }) })
      .then(function (r) { return r.json(); })
      .then(function (res) {
        if (!res.widgetUrl) { print(connection, res); return; }
        current = res.connectionId; log = []; print(events, "(none yet)"); refresh();
        var f = document.createElement("iframe");
        // An app would pass language to connect/start; the demo's
        // backend does not, so the page's lang parameter chooses it.
        var lang = document.getElementById("lang").value;
        f.src = res.widgetUrl + (lang ? "&lang=" + encodeURIComponent(lang) : ""); f.title = "Connect your bank"; f.id = "widget";
        frame.replaceChildren(f);
      });
  });
})();
