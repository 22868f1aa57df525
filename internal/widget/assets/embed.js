/*! banklink embed.js 1 | Apache-2.0 | no dependencies
 * Opens the Connect Widget for a widgetUrl from connect/start and turns
 * its postMessage events into callbacks:
 *
 *   <script src="https://link.example.com/connect/embed.js"></script>
 *   Banklink.open({
 *     widgetUrl: start.widgetUrl,            // from your backend
 *     mode: "iframe",                        // or "popup", "redirect"
 *     onSuccess: function (r) { ... r.connectionId, r.institutionName, r.accounts },
 *     onExit: function (e) { ... e.reason: "user" | "closed", e.connectionId },
 *     onError: function (e) { ... e.reason, e.details },
 *     onEvent: function (e) { ... e.name, e.metadata }   // every widget event
 *     oauth: "popup" | "redirect"            // optional: how an OAuth bank leaves the iframe
 *   });
 *   Banklink.resume({onSuccess, onExit, onError, onEvent});  // on page load
 *
 * Only messages from the widget's own origin and window count. In
 * "redirect" mode the page leaves for the widget, which returns to the
 * redirectUrl given to connect/start with ?connectionId=, or else to this
 * page; so does an iframe whose OAuth bank had to take the whole window.
 * There Banklink.resume() calls onSuccess or onExit (and
 * Banklink.redirectResult() returns {connectionId}).
 */
(function (root) {
  "use strict";
  var VERSION = "1.0.0";

  function call(fn, arg) {
    if (typeof fn !== "function") return;
    // An app's callback that throws must not stop the widget's events.
    try { fn(arg); } catch (e) { setTimeout(function () { throw e; }); }
  }

  function open(opts) {
    opts = opts || {};
    if (!opts.widgetUrl) throw new Error("Banklink.open: widgetUrl is required");
    var url = new URL(opts.widgetUrl, root.location.href);
    var origin = url.origin;
    var mode = opts.mode || "iframe";
    var connectionId = null;
    var finished = false;
    var frame = null, overlay = null, popup = null, poll = 0;

    // Where to come back to after an OAuth bank took the whole window,
    // and how to leave a frame for one: in the fragment, seen by no server.
    var back = new URL(opts.returnUrl || root.location.href);
    back.hash = "";
    RESULT_PARAMS.forEach(function (k) { back.searchParams.delete(k); });
    var frag = new URLSearchParams({ bl_return: back.href });
    if (opts.oauth === "popup" || opts.oauth === "redirect") frag.set("bl_oauth", opts.oauth);
    if (mode !== "popup") url.hash = frag.toString();

    if (mode === "redirect") {
      root.location.assign(url.href);
      return { mode: mode, close: function () {} };
    }

    function teardown() {
      root.removeEventListener("message", onMessage);
      if (poll) clearInterval(poll);
      if (overlay && overlay.parentNode) overlay.parentNode.removeChild(overlay);
      if (popup && !popup.closed) popup.close();
    }

    function finish(cb, arg) {
      if (finished) return;
      finished = true;
      teardown();
      call(cb, arg);
    }

    function onMessage(e) {
      if (e.origin !== origin) return;
      var source = frame ? frame.contentWindow : popup;
      if (!source || e.source !== source) return;
      var m = e.data;
      // Providers' own events are relayed too; only the widget's count.
      if (!m || typeof m !== "object" || m.domain !== "meld-connect" || typeof m.eventName !== "string") return;
      var md = m.metadata && typeof m.metadata === "object" ? m.metadata : {};
      if (md.connectionId) connectionId = md.connectionId;
      call(opts.onEvent, { name: m.eventName, metadata: md, connectionId: connectionId });
      switch (m.eventName) {
        case "connect_complete":
          finish(opts.onSuccess, {
            connectionId: connectionId, institutionId: md.institutionId, institutionName: md.institutionName,
            accountCount: md.accountCount, accounts: md.accounts || []
          });
          break;
        case "exit":
          finish(opts.onExit, { reason: "user", status: md.status || null, step: md.step || null, connectionId: connectionId });
          break;
        case "error":
          call(opts.onError, { reason: md.reason || "UNKNOWN", details: md.details || "", connectionId: connectionId });
          break;
      }
    }
    root.addEventListener("message", onMessage);

    if (mode === "popup") {
      var w = opts.width || 400, h = opts.height || 680;
      var left = Math.max(0, (root.screenX || 0) + ((root.outerWidth || w) - w) / 2);
      var top = Math.max(0, (root.screenY || 0) + ((root.outerHeight || h) - h) / 2);
      popup = root.open(url.href, "banklink-connect", "popup,width=" + w + ",height=" + h + ",left=" + left + ",top=" + top);
      if (!popup) {
        root.removeEventListener("message", onMessage);
        finished = true;
        call(opts.onError, { reason: "POPUP_BLOCKED", details: "The browser blocked the popup; call Banklink.open from a click handler.", connectionId: null });
        return { mode: mode, close: function () {} };
      }
      // A popup closed by the customer sends nothing: notice it.
      poll = setInterval(function () {
        if (popup.closed) finish(opts.onExit, { reason: "closed", step: null, connectionId: connectionId });
      }, 300);
    } else if (mode === "iframe") {
      frame = document.createElement("iframe");
      frame.src = url.href;
      frame.title = opts.title || "Connect your bank";
      frame.setAttribute("allow", "clipboard-write");
      frame.style.cssText = "border:0;width:360px;height:630px;max-width:100%;max-height:100%;background:#fff;border-radius:8px";
      if (opts.container) {
        overlay = document.createElement("div");
        overlay.appendChild(frame);
        opts.container.appendChild(overlay);
      } else {
        overlay = document.createElement("div");
        overlay.setAttribute("data-banklink", VERSION);
        overlay.style.cssText = "position:fixed;inset:0;z-index:2147483647;display:flex;align-items:center;justify-content:center;background:rgba(0,0,0,.4)";
        overlay.appendChild(frame);
        document.body.appendChild(overlay);
      }
    } else {
      root.removeEventListener("message", onMessage);
      throw new Error("Banklink.open: mode must be iframe, popup or redirect");
    }
    return {
      mode: mode,
      close: function () { finish(opts.onExit, { reason: "closed", step: null, connectionId: connectionId }); }
    };
  }

  // redirectResult, on the page at the redirectUrl given to
  // connect/start, returns {connectionId} when the widget sent the
  // customer back there after linking ("redirect" mode), else null.
  function redirectResult() {
    var id = new URLSearchParams(root.location.search).get("connectionId");
    return id ? { connectionId: id } : null;
  }

  var RESULT_PARAMS = ["banklink_status", "banklink_exit", "banklink_reason", "connectionId"];

  // resume, on page load, ends a flow the widget sent back to this page:
  // onSuccess, or onExit (after onError for an error). It removes the
  // outcome from the address bar and returns it, or null. Confirm the
  // connection with your backend: the query is the customer's to edit.
  function resume(opts) {
    opts = opts || {};
    var q = new URLSearchParams(root.location.search);
    var status = q.get("banklink_status"), id = q.get("connectionId");
    if (!status && !id) return null;
    var r = { connectionId: id || null, status: q.get("banklink_exit") || (status === "exit" ? "ABANDONED" : "SUCCESS"),
      reason: q.get("banklink_reason") || null, resumed: true };
    RESULT_PARAMS.forEach(function (k) { q.delete(k); });
    if (root.history && root.history.replaceState) {
      var qs = q.toString();
      root.history.replaceState(root.history.state, "", root.location.pathname + (qs ? "?" + qs : "") + root.location.hash);
    }
    if (status === "exit") {
      call(opts.onEvent, { name: "exit", metadata: { status: r.status, reason: r.reason }, connectionId: r.connectionId });
      if (r.status === "ERROR") call(opts.onError, { reason: r.reason || "UNKNOWN", details: "", connectionId: r.connectionId });
      call(opts.onExit, { reason: "user", status: r.status, step: null, connectionId: r.connectionId });
    } else {
      call(opts.onEvent, { name: "connect_complete", metadata: { connectionId: id }, connectionId: id });
      call(opts.onSuccess, { connectionId: id, resumed: true });
    }
    return r;
  }

  root.Banklink = { version: VERSION, open: open, resume: resume, redirectResult: redirectResult };
})(window);
