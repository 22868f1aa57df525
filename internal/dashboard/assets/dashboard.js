// The dashboard works without this script; it only adds confirmations,
// copy buttons and submit-on-change for filters. No inline handlers: the
// CSP allows this file alone.
(function () {
  "use strict";
  document.addEventListener("submit", function (e) {
    var msg = e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) {
      e.preventDefault();
    }
  });
  document.addEventListener("click", function (e) {
    var b = e.target.closest("button[data-copy]");
    if (!b) return;
    var el = document.getElementById(b.getAttribute("data-copy"));
    if (!el || !navigator.clipboard) return;
    navigator.clipboard.writeText(el.textContent).then(function () {
      b.textContent = "Copied";
      setTimeout(function () { b.textContent = "Copy"; }, 2000);
    });
  });
  document.addEventListener("change", function (e) {
    if (e.target.classList.contains("autosubmit") && e.target.form) {
      e.target.form.submit();
    }
  });
})();
