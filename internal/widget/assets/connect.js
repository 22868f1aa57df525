// banklink Connect Widget. Plain JavaScript, no dependencies. Talks to the
// widget API with the connect token; never uses innerHTML with data.
(function () {
  "use strict";
  var app = document.getElementById("app");
  var base = app.getAttribute("data-base");
  var view = document.getElementById("view");
  var title = document.getElementById("title");
  var alertBox = document.getElementById("alert");
  var backBtn = document.getElementById("back");
  var params = new URLSearchParams(location.search);
  // The page's words: its language's catalogue (assets/i18n/<lang>.json
  // without the server's own keys), embedded in the page by the server,
  // so that it costs no request and only this language is downloaded.
  var lang = document.documentElement.lang || "en";
  var L = {};
  try { L = JSON.parse(document.getElementById("i18n").textContent); } catch (e) { L = {}; }
  var plurals = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang) : null;
  var numbers = window.Intl && Intl.NumberFormat ? new Intl.NumberFormat(lang) : null;
  function has(key) { return Object.prototype.hasOwnProperty.call(L, key); }
  // t returns key's text with its {name} placeholders filled from args;
  // numbers are formatted for the language ("1 234" in French).
  function t(key, args) {
    return (has(key) ? L[key] : key).replace(/\{([A-Za-z][A-Za-z0-9]*)\}/g, function (m, name) {
      if (!args || !Object.prototype.hasOwnProperty.call(args, name)) return m;
      var v = args[name];
      return typeof v === "number" && numbers ? numbers.format(v) : String(v);
    });
  }
  // tn is t for a count: key.one, key.other… by the language's plural
  // rules (French says "1 compte" and "0 compte"; English "0 accounts").
  function tn(key, n, args) {
    var form = plurals ? plurals.select(n) : n === 1 ? "one" : "other";
    return t(has(key + "." + form) ? key + "." + form : key + ".other", args);
  }
  // tOr is t for a code from the server (a product, a subtype) that the
  // catalogue may not know yet: then the code itself, made readable.
  function tOr(key, code) { return has(key) ? t(key) : String(code || "").replace(/_/g, " ").toLowerCase(); }
  var token = params.get("connectToken") || "";
  // The token leaves the address bar (below) but stays in this tab's
  // sessionStorage, so a reload, Back/Forward, a tab the browser discarded
  // or a return from another app (a phone's MFA code) resumes the session
  // the server holds. sessionStorage is this tab's and this origin's only:
  // other tabs and sites cannot read it. A token in the URL always wins.
  var TOKEN_KEY = "banklink.connectToken";
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else token = sessionStorage.getItem(TOKEN_KEY) || "";
  } catch (e) { /* storage disabled: the URL's token only */ }
  // Back from an institution's or a provider's login page: everything the
  // page appended (an OAuth code or error; MX's status, member_guid and
  // error_reason) goes to the provider, which knows what it means.
  var oauth = null;
  if (params.get("oauth") === "callback") {
    oauth = { code: "", error: "" };
    params.forEach(function (v, k) { if (k !== "connectToken" && k !== "oauth") oauth[k] = v; });
  }
  // Handed over in the fragment (never sent to a server): by embed.js,
  // the page to return to after a whole-window OAuth login (bl_return)
  // and how an OAuth bank leaves a frame (bl_oauth: popup or redirect);
  // by this widget in a frame that sends the whole window to the bank,
  // its tab (bl_tab) and to go on to the bank at once (bl_go).
  var handoff = new URLSearchParams(location.hash.slice(1));
  var RETURN_KEY = "banklink.returnUrl", OAUTH_MODE_KEY = "banklink.oauthMode";
  var oauthMode = "", goToBank = handoff.get("bl_go") === "1";
  try {
    if (handoff.get("bl_return")) sessionStorage.setItem(RETURN_KEY, handoff.get("bl_return"));
    if (/^(popup|redirect)$/.test(handoff.get("bl_oauth") || "")) sessionStorage.setItem(OAUTH_MODE_KEY, handoff.get("bl_oauth"));
    if (/^[A-Za-z0-9_-]{16,64}$/.test(handoff.get("bl_tab") || "")) sessionStorage.setItem("banklink.tab", handoff.get("bl_tab"));
    oauthMode = sessionStorage.getItem(OAUTH_MODE_KEY) || "";
  } catch (e) { /* storage disabled: this page only */ }
  var state = null;
  var searchTimer = 0;
  var searchSeq = 0;

  // Drop the token from the address bar (and so from history and from
  // what the customer might share) as soon as it is read.
  // A language the page was given (by the token or a lang parameter)
  // stays in the address, so that a reload renders the page in it.
  var pinned = app.getAttribute("data-lang-pinned") === "true";
  function pageAddress(l) { return location.pathname + (l ? "?lang=" + encodeURIComponent(l) : ""); }
  if (history.replaceState) history.replaceState(null, "", pageAddress(pinned ? lang : ""));

  // --- consent and branding ------------------------------------------------
  // {app} in the consent strings is the app's display name.
  function appName(name) { return name || t("consent.thisApp"); }
  function productText(p) { return has("product." + p) ? t("product." + p) : p; }

  // --- events to the embedding app -------------------------------------
  var inFrame = window.parent !== window;
  // The embedding app's origin as the page first learnt it. After an
  // OAuth round trip through the bank, whose pages send no referrer,
  // document.referrer no longer names the app, and Firefox has no
  // ancestorOrigins: the origin is kept in this tab's sessionStorage,
  // which only banklink's own origin can write.
  var PARENT_KEY = "banklink.parentOrigin";
  function parentOrigin() {
    var o = "";
    if (location.ancestorOrigins && location.ancestorOrigins.length) o = location.ancestorOrigins[0];
    else { try { o = document.referrer ? new URL(document.referrer).origin : ""; } catch (e) { o = ""; } }
    if (o === "null") o = "";
    try {
      if (o) sessionStorage.setItem(PARENT_KEY, o);
      else o = sessionStorage.getItem(PARENT_KEY) || "";
    } catch (e) { /* storage disabled: only the live referrer */ }
    return o;
  }
  parentOrigin(); // learn it while the first referrer is there
  function emit(eventName, metadata) {
    var msg = { domain: "meld-connect", eventName: eventName, metadata: metadata || null };
    if (!inFrame && !window.opener) return;
    var target = parentOrigin();
    if (!target || target === "null") return;
    var allowed = state && state.parentOrigins;
    // Only ever to the embedding app's own origin, never "*".
    if (allowed && allowed.indexOf("*") < 0 && allowed.indexOf(target) < 0) return;
    (inFrame ? window.parent : window.opener).postMessage(msg, target);
  }

  // --- API ---------------------------------------------------------------
  // This tab's id: the server lets one tab drive a session, so a second
  // tab on the same link cannot send this tab's login to its own bank.
  var TAB_KEY = "banklink.tab";
  var tabId = "";
  try { tabId = sessionStorage.getItem(TAB_KEY) || ""; } catch (e) { /* no storage */ }
  if (!tabId) {
    var rnd = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(rnd);
    tabId = Array.prototype.map.call(rnd, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    try { sessionStorage.setItem(TAB_KEY, tabId); } catch (e) { /* this page only */ }
  }
  function api(method, path, body) {
    // Accept-Language: errors the server writes come in the page's
    // language even before it has read the token.
    var opts = { method: method, headers: { "Authorization": "Bearer " + token, "Banklink-Tab": tabId, "Accept-Language": lang }, credentials: "omit", cache: "no-store" };
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(base + "/api/" + path, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) { var e = new Error(data.message || t("net.generic")); e.data = data; e.status = r.status; throw e; }
        return data;
      });
    }, function () {
      var e = new Error(t("net.unreachable"));
      e.data = { reason: "NETWORK_ERROR", retryable: true }; throw e;
    });
  }

  // --- DOM helpers ---------------------------------------------------------
  function el(tag, attrs, children) {
    var n = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") n.textContent = attrs[k];
      else if (k.slice(0, 2) === "on") n.addEventListener(k.slice(2), attrs[k]);
      else if (attrs[k] === true) n.setAttribute(k, "");
      else if (attrs[k] !== false && attrs[k] != null) n.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c) n.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return n;
  }
  function show(heading, nodes, canGoBack) {
    title.textContent = heading;
    backBtn.hidden = !canGoBack;
    view.replaceChildren.apply(view, nodes);
    app.setAttribute("aria-busy", "false");
    title.focus({ preventScroll: true });
  }
  function setAlert(msg) { alertBox.textContent = msg || ""; alertBox.hidden = !msg; }
  function busy(button, on) { if (button) { button.disabled = on; button.setAttribute("aria-busy", on ? "true" : "false"); } }
  // An institution's picture: its logo, served by banklink (never from a
  // provider's CDN), over a monogram that shows while it loads and stays
  // when there is none or it fails. The monogram takes the brand colour,
  // else one of MONOGRAM picked by a hash of the name (so neighbours in
  // the list differ), with white or near-black initials, whichever
  // contrasts more. Colours are set through the CSSOM, which the page's
  // CSP (style-src 'self') allows.
  var MONOGRAM = ["#1d4ed8", "#047857", "#b45309", "#7c3aed", "#be123c", "#0e7490", "#4d7c0f", "#a21caf", "#c2410c", "#334155"];
  function nameHash(s) { var h = 0; for (var i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0; return h; }
  function luminance(hex) {
    var c = [1, 3, 5].map(function (i) { var v = parseInt(hex.substr(i, 2), 16) / 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  function avatar(inst) {
    var bg = /^#[0-9a-f]{6}$/.test(inst.color || "") ? inst.color : MONOGRAM[nameHash(inst.name || "") % MONOGRAM.length];
    var a = el("span", { "class": "avatar", "aria-hidden": "true" }, [el("span", { "class": "mono", text: inst.initials || "?" })]);
    var l = luminance(bg);
    a.style.backgroundColor = bg;
    a.style.color = 1.05 / (l + 0.05) >= (l + 0.05) / 0.0556 ? "#fff" : "#111";
    if (inst.logo) {
      var img = el("img", { src: inst.logo, alt: "", width: "38", height: "38", decoding: "async" });
      img.addEventListener("load", function () { a.classList.add("has-logo"); });
      img.addEventListener("error", function () { img.remove(); });
      a.appendChild(img);
    }
    return a;
  }

  // --- screens -------------------------------------------------------------
  function reportError(err, extra) {
    var d = err.data || {};
    var md = { details: err.message, reason: d.reason || d.code || "UNKNOWN", step: state ? state.step : null };
    for (var k in extra || {}) md[k] = extra[k];
    lastError = md;
    emit("error", md);
  }
  function fatal(err) {
    var d = err.data || {};
    reportError(err);
    setAlert("");
    show(t("fatal.title"), [el("div", { "class": "center" }, [
      el("div", { "class": "check bang", "aria-hidden": "true", text: "!" }),
      el("h2", { text: d.reason === "TOKEN_USED" ? t("fatal.used") : d.reason === "TOKEN_EXPIRED" || d.reason === "CONNECTION_EXPIRED" ? t("fatal.expired") : t("fatal.cannotContinue") }),
      el("p", { "class": "muted", text: err.message }),
      el("button", { type: "button", "class": "primary", onclick: close, text: t("action.close") })
    ])], false);
  }

  // Another tab drives this session: say so, and offer to take it over.
  function elsewhere() {
    setAlert("");
    var here = el("button", { type: "button", "class": "primary", id: "continue-here", text: t("tab.continueHere") });
    here.addEventListener("click", function () {
      busy(here, true);
      api("POST", "claim", {}).then(render, function (e) { failed(e, here); });
    });
    show(t("tab.title"), [el("div", { "class": "center" }, [
      el("p", { text: t("tab.body") }), here
    ])], false);
  }

  function failed(err, button) {
    busy(button, false);
    var d = err.data || {};
    if (d.reason === "CONTINUED_IN_ANOTHER_TAB") return elsewhere();
    if (d.reason && d.retryable === false && (d.code === "LOGIN_FAILED" || d.code === "UNAUTHORIZED")) return fatal(err);
    if (d.code === "UNAUTHORIZED") return fatal(err);
    reportError(err);
    // Another tab or a double submit moved the session on: show where it is.
    if (d.code === "CONFLICT") return api("GET", "session").then(function (s) { render(s); setAlert(err.message); }, fatal);
    setAlert(err.message);
  }

  // --- branding: the app's colour on the primary buttons, with the text
  // colour the server chose for contrast (CSSOM: the CSP allows it).
  function brand(app) {
    if (!app || !app.brandColor) return;
    var root = document.documentElement.style, light = app.brandTextColor === "#ffffff";
    root.setProperty("--brand", app.brandColor);
    root.setProperty("--on-brand", app.brandTextColor);
    root.setProperty("--brand-shade", light ? "rgba(0,0,0,.18)" : "rgba(255,255,255,.25)");
  }

  // --- consent, the first screen: who asks, for what, the privacy policy,
  // optional products to decline. The server keeps the answer; unsent
  // ticks survive a reload in sessionStorage.
  var DRAFT_KEY = "banklink.consentDraft";
  function draft(connectionId, declined) {
    try {
      if (declined === undefined) {
        var d = JSON.parse(sessionStorage.getItem(DRAFT_KEY) || "null");
        return d && d.connectionId === connectionId ? d.declined : null;
      }
      sessionStorage.setItem(DRAFT_KEY, JSON.stringify({ connectionId: connectionId, declined: declined }));
    } catch (e) { /* no storage: the server's answer only */ }
    return null;
  }
  function appMark(app) {
    var mark = el("span", { "class": "avatar app-mark", "aria-hidden": "true", text: (app.name || "?").charAt(0).toUpperCase() });
    if (!app.logoUrl) return mark;
    var img = el("img", { "class": "app-logo", src: app.logoUrl, alt: t("consent.logo", { app: appName(app.name) }), width: "48", height: "48", referrerpolicy: "no-referrer" });
    img.addEventListener("error", function () { img.replaceWith(mark); });
    return img;
  }
  function consent(s) {
    var app = s.app || {};
    var name = app.name;
    var optional = s.optionalProducts || [];
    var declined = draft(s.connectionId) || (s.consent && s.consent.declinedProducts) || [];
    state = Object.assign({}, s, { step: "CONSENT" }); // exit events say where the customer left
    var form = el("form", { id: "consent-form" });
    form.appendChild(el("p", { "class": "asks", text: t("consent.asks", { app: appName(name) }) }));
    form.appendChild(el("ul", { "class": "plain", id: "consent-required" }, (s.products.length ? s.products : []).map(function (p) {
      return el("li", { text: productText(p) });
    }).concat(s.products.length ? [] : [el("li", { text: t("accounts.basic") })])));
    if (optional.length) {
      var fs = el("fieldset", { "class": "optional", id: "consent-optional" }, [el("legend", { text: t("consent.optional", { app: appName(name) }) }),
        el("p", { "class": "muted", text: t("consent.optionalHint") })]);
      optional.forEach(function (p) {
        var box = el("input", { type: "checkbox", id: "opt-" + p, name: "optional", value: p, checked: declined.indexOf(p) < 0 });
        box.addEventListener("change", function () { draft(s.connectionId, unticked()); });
        fs.appendChild(el("label", { "class": "acct", "for": "opt-" + p }, [box, el("span", { text: productText(p) })]));
      });
      form.appendChild(fs);
    }
    function unticked() {
      return Array.prototype.slice.call(form.querySelectorAll("input[name=optional]")).filter(function (i) { return !i.checked; })
        .map(function (i) { return i.value; });
    }
    form.appendChild(el("p", { "class": "muted", text: t("consent.never", { app: appName(name) }) }));
    form.appendChild(app.privacyPolicyUrl
      ? el("p", null, [el("a", { href: app.privacyPolicyUrl, id: "privacy", target: "_blank", rel: "noopener noreferrer", text: t("consent.privacy", { app: appName(name) }) })])
      : el("p", { "class": "muted", text: t("consent.privacyNone", { app: appName(name) }) }));
    var submit = el("button", { type: "submit", "class": "primary", id: "consent-continue", text: t("action.continue") });
    form.appendChild(submit);
    form.appendChild(el("p", { "class": "muted small", text: t("consent.agree", { app: appName(name) }) }));
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      busy(submit, true); setAlert("");
      var no = unticked();
      emit("debug", { action: "consent", declinedProducts: no });
      api("POST", "consent", { declinedProducts: no }).then(function (next) {
        try { sessionStorage.removeItem(DRAFT_KEY); } catch (x) { /* none kept */ }
        render(next);
      }, function (err) { failed(err, submit); });
    });
    show(t("consent.title"), [el("div", { "class": "consent-head" }, [appMark(app), el("h2", { id: "consent-heading", text: t("consent.heading", { app: appName(name) }) })]), form], false);
  }

  function render(s) {
    stopEmbed(); stopOAuthWindow();
    state = s;
    brand(s.app);
    document.getElementById("env").hidden = s.environment !== "sandbox";
    setAlert("");
    if (!s.consent && s.step !== "DONE") {
      emit("debug", { action: "step", step: "CONSENT" });
      return consent(s);
    }
    emit("debug", { action: "step", step: s.step });
    if (s.step === "PICK") return pick(s);
    if (s.step === "CREDENTIALS") return credentials(s);
    if (s.step === "REDIRECT") return redirect(s);
    if (s.step === "MFA") return mfa(s);
    if (s.step === "ACCOUNTS" || s.step === "DONE") return accounts(s);
    fatal(new Error(t("net.unexpectedStep")));
  }

  function instButton(inst) {
    var down = inst.health === "DOWN";
    return el("li", null, [el("button", {
      type: "button", "class": "inst", "data-id": inst.id, onclick: function (e) { choose(inst, e.currentTarget); }
    }, [avatar(inst), el("span", null, [
      el("span", { "class": "name", text: inst.name }),
      el("span", { "class": "sub", text: inst.domain || tOr("insttype." + inst.type, inst.type) })
    ]), inst.oauth ? el("span", { "class": "tag", text: t("pick.opensBankSite") }) : null,
    down ? el("span", { "class": "tag down", text: t("pick.unavailable") }) : null])]);
  }

  function pick(s) {
    var input = el("input", { type: "search", id: "search", autocomplete: "off", spellcheck: "false", placeholder: t("pick.placeholder"),
      "aria-controls": "results", "aria-describedby": "result-status" });
    input.value = s.searchString || "";
    // The list is not a live region: a screen reader would read out every
    // name on every keystroke. The count is announced instead, politely,
    // once typing pauses (#result-count).
    var list = el("ul", { "class": "list", id: "results", "aria-label": t("pick.resultsLabel") });
    var status = el("p", { "class": "muted", id: "result-status" });
    var count = el("p", { "class": "sr-only", id: "result-count", role: "status" });
    var more = el("button", { type: "button", "class": "secondary more", hidden: true, text: t("pick.more") });
    // "Can't find your bank?": under an empty or a complete list, tips
    // and a way out that tells the app why the customer left.
    var nfTitle = el("h2", { id: "not-found-title" });
    var nfExit = el("button", { type: "button", "class": "secondary", id: "not-listed", text: t("pick.notListed") });
    nfExit.addEventListener("click", function () { close({ reason: "INSTITUTION_NOT_FOUND", searchString: input.value.trim() }); });
    var notFound = el("section", { "class": "notfound", id: "not-found", "aria-labelledby": "not-found-title", hidden: true }, [nfTitle,
      el("ul", null, [
        el("li", { text: t("pick.tipSpelling") }),
        el("li", { text: t("pick.tipRouting") }),
        el("li", { text: t("pick.tipName") })
      ]), nfExit]);
    var next = "";
    var announceTimer = 0;
    function announce(text) {
      clearTimeout(announceTimer);
      announceTimer = setTimeout(function () { count.textContent = text; }, 700);
    }
    function showPage(res, append, q) {
      if (!append) list.replaceChildren();
      res.institutions.forEach(function (i) { list.appendChild(instButton(i)); });
      next = res.next || "";
      more.hidden = !next;
      var shown = list.children.length, total = shown + res.remaining, msg = "";
      if (shown === 0) {
        msg = !q ? t("pick.none")
          : res.routing === "INVALID" ? t("pick.invalidRouting", { query: q })
          : res.routing === "NUMBER" ? t("pick.noRouting", { query: q })
          : t("pick.noMatch", { query: q });
      }
      status.textContent = msg;
      nfTitle.textContent = shown === 0 ? t("pick.notFoundTitle") : t("pick.notFoundMore");
      notFound.hidden = !!next;
      if (q) announce(shown === 0 ? msg : tn("pick.count", total, { count: total }));
      emit("debug", { action: "search", query: q, results: total, routing: res.routing || null });
    }
    function load(append) {
      // "Show more" pressed twice, or while a page is loading, must not
      // append the same page twice.
      if (append && more.disabled) return;
      var seq = ++searchSeq;
      if (append) busy(more, true);
      var q = new URLSearchParams({ name: input.value.trim(), limit: "20" });
      if (append && next) q.set("after", next);
      api("GET", "institutions?" + q.toString()).then(function (res) {
        busy(more, false);
        if (seq !== searchSeq) return; // a newer keystroke won
        showPage(res, append, input.value.trim());
      }, function (e) { busy(more, false); failed(e); });
    }
    input.addEventListener("input", function () { clearTimeout(searchTimer); searchTimer = setTimeout(function () { load(false); }, 150); });
    more.addEventListener("click", function () { load(true); });
    show(t("pick.title"), [
      el("label", { "for": "search", text: t("pick.label") }), input, status, count, list, more, notFound
    ], false);
    // The session's answer carries the first page (one request fewer
    // before the list shows); a step back to the picker asks for it.
    if (s.picker) showPage(s.picker, false, input.value.trim());
    else load(false);
  }

  function choose(inst, button) {
    busy(button, true);
    emit("debug", { action: "select_institution", institutionId: inst.id, institutionName: inst.name });
    api("POST", "select", { institutionId: inst.id }).then(render, function (e) { failed(e, button); });
  }

  function institutionHead(s) {
    var i = s.institution;
    return el("div", { "class": "head" }, [avatar(i), el("div", null, [el("h2", { text: i.name }), el("span", { "class": "muted", text: i.domain || "" })])]);
  }

  function sandboxHint(text) { return state.environment === "sandbox" ? el("p", { "class": "hint", text: text }) : null; }

  // connecting shows a login in flight: the fields locked (a change now
  // would not be sent) and the button saying what is happening.
  function connecting(form, submit, on) {
    Array.prototype.forEach.call(form.querySelectorAll("input"), function (i) { i.disabled = on; });
    if (on) { submit.setAttribute("data-label", submit.textContent); submit.textContent = t("login.connecting"); }
    else if (submit.getAttribute("data-label")) submit.textContent = submit.getAttribute("data-label");
    busy(submit, on);
    form.setAttribute("aria-busy", on ? "true" : "false");
  }

  function credentials(s) {
    var form = el("form", { novalidate: true });
    s.fields.forEach(function (f, i) {
      var id = "field-" + f.name;
      form.appendChild(el("label", { "for": id, text: f.label }));
      form.appendChild(el("input", { id: id, name: f.name, type: f.secret ? "password" : "text", required: true,
        autocomplete: f.secret ? "current-password" : "username", autocapitalize: "none", spellcheck: "false" }));
    });
    var submit = el("button", { type: "submit", "class": "primary", text: t("action.continue") });
    form.appendChild(submit);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var creds = {}, empty = null;
      s.fields.forEach(function (f) {
        var v = form.elements[f.name].value;
        creds[f.name] = v;
        if (!empty && !v.trim()) empty = f;
      });
      // An empty form is not a login attempt: say what is missing and
      // send nothing (the server refuses it too, without counting it).
      if (empty) { setAlert(t("login.missing", { field: empty.label.toLowerCase() })); form.elements[empty.name].focus(); return; }
      connecting(form, submit, true); setAlert("");
      emit("submit_credentials", { institutionId: s.institution.id, institutionName: s.institution.name });
      api("POST", "login", { credentials: creds }).then(render, function (err) { connecting(form, submit, false); failed(err, submit); });
    });
    show(t("login.title"), [institutionHead(s), el("p", { "class": "muted", text: t("login.intro", { institution: s.institution.name }) }), form,
      sandboxHint(t("login.sandboxHint"))], !s.institutionLocked);
    var first = form.querySelector("input"); if (first) first.focus();
  }

  // An embedded provider page (MX Connect) reports by postMessage. Only
  // messages from that frame and its origin count; a "done" event hands
  // its metadata to the provider.
  var embedListener = null;
  function stopEmbed() {
    if (embedListener) { window.removeEventListener("message", embedListener); embedListener = null; }
  }
  function embedded(s) {
    var e = s.loginEmbed;
    var frame = el("iframe", { "class": "provider-frame", src: s.loginUrl, title: t("login.frameTitle", { institution: s.institution.name }),
      referrerpolicy: "no-referrer" });
    var finishing = false;
    embedListener = function (ev) {
      if (ev.source !== frame.contentWindow || ev.origin !== e.origin) return;
      var d = ev.data;
      if (typeof d === "string") { try { d = JSON.parse(d); } catch (x) { return; } }
      if (!d || typeof d.type !== "string") return;
      var meta = d.metadata && typeof d.metadata === "object" ? d.metadata : {};
      if (e.doneEvents.indexOf(d.type) < 0 || finishing) return;
      finishing = true;
      var body = { event: d.type };
      Object.keys(meta).forEach(function (k) { if (typeof meta[k] === "string" || typeof meta[k] === "number") body[k] = String(meta[k]); });
      emit("debug", { action: "provider_done", institutionId: s.institution.id });
      api("POST", "oauth", body).then(render, function (err) { finishing = false; failed(err); });
    };
    window.addEventListener("message", embedListener);
    show(t("login.title"), [institutionHead(s), frame], !s.institutionLocked);
  }

  function redirect(s) {
    if (s.loginEmbed) return embedded(s);
    if (inFrame && (s.loginNoFrame || oauthMode)) return outOfFrame(s);
    if (goToBank && !inFrame) {
      // The widget's frame sent this window here to go on to the bank.
      goToBank = false;
      show(OAUTH_TEXT.opening(s.institution.name), [el("div", { "class": "center" }, [el("div", { "class": "spinner", role: "status", "aria-label": OAUTH_TEXT.opening(s.institution.name) })])], false);
      location.replace(s.loginUrl);
      return;
    }
    var go = el("a", { "class": "primary", href: s.loginUrl, text: t("login.redirectGo", { institution: s.institution.name }) });
    go.addEventListener("click", function () { emit("debug", { action: "open_oauth", institutionId: s.institution.id }); });
    show(t("login.title"), [institutionHead(s), el("p", { text: t("login.redirectIntro", { institution: s.institution.name }) })
      , go], !s.institutionLocked);
  }

  // --- OAuth banks that refuse to be framed ---------------------------------
  // Real OAuth banks' pages refuse frames (X-Frame-Options, CSP
  // frame-ancestors; loginNoFrame). A widget in a frame opens them in a
  // popup it opens itself, from the customer's click (a message to
  // embed.js would lose the click, and popup blockers want one; and apps
  // without embed.js work too). The bank returns the popup to this
  // widget's callback, which hands the result to this frame by
  // postMessage, same origin only, and closes; this frame sends it to
  // the server with its own tab id. A blocked popup, or bl_oauth=redirect
  // (a WebView: no popups), sends the whole window instead, through
  // this widget's page (goToBank), which keeps this tab's id and the
  // page to return to.
  var OAUTH_TEXT = {
    continueTo: function (n) { return t("oauth.continueTo", { institution: n }); },
    popupIntro: function (n) { return t("oauth.popupIntro", { institution: n }); },
    waiting: function (n) { return t("oauth.waiting", { institution: n }); },
    showWindow: function () { return t("oauth.showWindow"); },
    closed: function (n) { return t("oauth.closed", { institution: n }); },
    blocked: function (n) { return t("oauth.blocked", { institution: n }); },
    redirectIntro: function (n) { return t("oauth.redirectIntro", { institution: n }); },
    continueHere: function (n) { return t("oauth.continueHere", { institution: n }); },
    opening: function (n) { return t("oauth.opening", { institution: n }); },
    windowDone: function () { return t("oauth.windowDone"); },
    windowDoneText: function () { return t("oauth.windowDoneText"); }
  };
  var oauthWindow = null, oauthWatch = 0;
  function stopOAuthWindow() {
    if (oauthWatch) { clearInterval(oauthWatch); oauthWatch = 0; }
    oauthWindow = null;
  }
  function outOfFrame(s) {
    var name = s.institution.name;
    if (oauthMode === "redirect") return inWindow(s, false);
    var go = el("button", { type: "button", "class": "primary", id: "oauth-open", text: OAUTH_TEXT.continueTo(name) });
    go.addEventListener("click", function () {
      var w = null;
      var h = Math.min(720, screen.availHeight || 720), x = (screen.availWidth || 500) / 2 - 250;
      try { w = window.open(s.loginUrl, "banklink-oauth", "popup,width=500,height=" + h + ",left=" + Math.max(0, x) + ",top=0"); } catch (e) { w = null; }
      if (!w) {
        emit("debug", { action: "oauth_popup_blocked", institutionId: s.institution.id });
        return inWindow(s, true);
      }
      emit("debug", { action: "open_oauth", institutionId: s.institution.id, mode: "popup" });
      waitForWindow(s, w);
    });
    show(t("login.title"), [institutionHead(s), el("p", { text: OAUTH_TEXT.popupIntro(name) }), go], !s.institutionLocked);
  }
  function waitForWindow(s, w) {
    var again = el("button", { type: "button", "class": "secondary", id: "oauth-focus", text: OAUTH_TEXT.showWindow() });
    again.addEventListener("click", function () { if (w.closed) outOfFrame(s); else w.focus(); });
    show(t("login.title"), [institutionHead(s), el("p", { id: "oauth-waiting", text: OAUTH_TEXT.waiting(s.institution.name) }), again], !s.institutionLocked);
    oauthWindow = w;
    // Closed with no result: the customer gave up, or the bank cut the
    // window off from this one (COOP); the session says where it is.
    oauthWatch = setInterval(function () {
      if (!w.closed || oauthWindow !== w) return;
      stopOAuthWindow();
      emit("debug", { action: "oauth_window_closed", institutionId: s.institution.id });
      api("GET", "session").then(function (ns) { render(ns); if (ns.step === "REDIRECT") setAlert(OAUTH_TEXT.closed(s.institution.name)); }, function (e) { failed(e); });
    }, 400);
  }
  function inWindow(s, blocked) {
    var name = s.institution.name;
    var frag = new URLSearchParams({ bl_tab: tabId, bl_go: "1" });
    try { if (sessionStorage.getItem(RETURN_KEY)) frag.set("bl_return", sessionStorage.getItem(RETURN_KEY)); } catch (e) { /* none */ }
    var href = location.origin + base + "?" + new URLSearchParams({ connectToken: token }).toString() + "#" + frag.toString();
    // A link with target _top: the customer's click lets a frame navigate
    // the whole window.
    var go = el("a", { "class": "primary", id: "oauth-redirect", href: href, target: "_top", text: OAUTH_TEXT.continueHere(name) });
    go.addEventListener("click", function () { emit("debug", { action: "open_oauth", institutionId: s.institution.id, mode: "redirect" }); });
    show(t("login.title"), [institutionHead(s), el("p", { text: OAUTH_TEXT.redirectIntro(name) }), go], !s.institutionLocked);
    if (blocked) setAlert(OAUTH_TEXT.blocked(name));
  }
  // This frame's popup came back from the bank: its callback hands over
  // what the bank appended, only to a window of this origin.
  window.addEventListener("message", function (ev) {
    var d = ev.data;
    if (ev.origin !== location.origin || !ev.source || ev.source === window) return;
    if (!d || d.type !== "banklink:oauth" || !d.params || typeof d.params !== "object") return;
    // From the popup this page opened, or, after this frame reloaded
    // meanwhile, from any window of this origin while a bank is awaited.
    if (oauthWindow ? ev.source !== oauthWindow : !(state && state.step === "REDIRECT")) return;
    var params = {};
    Object.keys(d.params).forEach(function (k) { if (typeof d.params[k] === "string") params[k] = d.params[k]; });
    ev.source.postMessage({ type: "banklink:oauth-ack" }, location.origin);
    stopOAuthWindow();
    oauthResult(api("POST", "oauth", params));
  });
  // oauthResult shows what the return from a bank led to: the next step,
  // or a refusal on the step the session went back to, reported to the
  // app as an error event.
  function oauthResult(p) {
    return p.then(render, function (err) {
      var d = err.data || {};
      if (d.code === "UNAUTHORIZED") return fatal(err);
      if (d.reason === "CONTINUED_IN_ANOTHER_TAB") return elsewhere();
      return api("GET", "session").then(function (s) { render(s); setAlert(err.message); reportError(err, { step: "OAUTH" }); }, fatal);
    });
  }
  // The callback page in the popup: hand the result to the widget that
  // opened it (same origin only) and close. With no such opener (the
  // bank cut it off, or the widget is gone), go on here instead.
  function handOff(fallback) {
    var w = null;
    try { w = window.opener && window.opener !== window && window.opener.location.origin === location.origin ? window.opener : null; } catch (e) { w = null; }
    if (!oauth || !w) return fallback();
    var acked = false;
    function onAck(ev) {
      if (ev.origin !== location.origin || ev.source !== w || !ev.data || ev.data.type !== "banklink:oauth-ack") return;
      acked = true;
      window.removeEventListener("message", onAck);
      show(OAUTH_TEXT.windowDone(), [el("div", { "class": "center" }, [el("p", { "class": "muted", text: OAUTH_TEXT.windowDoneText() })])], false);
      window.close();
    }
    window.addEventListener("message", onAck);
    w.postMessage({ type: "banklink:oauth", params: oauth }, location.origin);
    setTimeout(function () { if (!acked) { window.removeEventListener("message", onAck); fallback(); } }, 3000);
  }
  // Back in a window of its own after a whole-window OAuth login: the
  // app's page given as bl_return, if its origin may embed the widget,
  // with the outcome in its query (embed.js's Banklink.resume reads it).
  function returnUrl() {
    var r = "";
    try { r = sessionStorage.getItem(RETURN_KEY) || ""; } catch (e) { return ""; }
    if (!r || inFrame || !state) return "";
    var u; try { u = new URL(r); } catch (e) { return ""; }
    var allowed = state.parentOrigins || [];
    if (!/^https?:$/.test(u.protocol) || (allowed.indexOf(u.origin) < 0 && allowed.indexOf("*") < 0)) return "";
    return u.toString();
  }
  function returnToApp(q) {
    var r = returnUrl();
    if (!r) return false;
    var u = new URL(r);
    for (var k in q) if (q[k] != null) u.searchParams.set(k, q[k]);
    try { sessionStorage.removeItem(RETURN_KEY); } catch (e) { /* none */ }
    location.assign(u.toString());
    return true;
  }

  function mfa(s) {
    var m = s.mfa;
    var form = el("form", { novalidate: true });
    form.appendChild(el("p", { text: m.prompt, id: "mfa-prompt" }));
    if (m.kind === "CHOICE") {
      m.choices.forEach(function (c, i) {
        form.appendChild(el("label", { "class": "choice" }, [el("input", { type: "radio", name: "answer", value: String(i), checked: i === 0 }), c]));
      });
    } else {
      form.appendChild(el("input", { type: "text", name: "answer", id: "answer", "aria-labelledby": "mfa-prompt", required: true,
        inputmode: m.kind === "CODE" ? "numeric" : "text", autocomplete: m.kind === "CODE" ? "one-time-code" : "off" }));
    }
    var submit = el("button", { type: "submit", "class": "primary", text: t("action.continue") });
    form.appendChild(submit);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var a = form.elements.answer;
      var answer = a.value !== undefined ? a.value : (form.querySelector("input[name=answer]:checked") || {}).value;
      if (!answer || !String(answer).trim()) { setAlert(t("mfa.missing")); if (a.focus) a.focus(); return; }
      connecting(form, submit, true); setAlert("");
      emit("submit_mfa", { institutionId: s.institution.id, kind: m.kind });
      api("POST", "mfa", { answer: answer || "" }).then(render, function (err) { connecting(form, submit, false); failed(err, submit); });
    });
    show(t("mfa.title"), [institutionHead(s), form,
      sandboxHint(m.kind === "CODE" ? t("mfa.sandboxCode") : m.kind === "QUESTION" ? t("mfa.sandboxQuestion") : t("mfa.sandboxChoice"))], true);
    var first = form.querySelector("input"); if (first) first.focus();
  }

  // An account's kind in words and the end of its number: "Roth IRA,
  // ending in 7897" rather than "roth ••7897" (which a screen reader
  // reads as "bullet bullet"). The kind is left out when the name says it.
  function accountLine(a) {
    var kind = a.subtype ? tOr("subtype." + a.subtype, a.subtype) : "";
    if (!a.mask) return kind;
    if (!kind || (a.name || "").toLowerCase().indexOf(kind.toLowerCase()) >= 0) return t("accounts.ending", { mask: a.mask });
    return t("accounts.subtypeMasked", { subtype: kind.charAt(0).toUpperCase() + kind.slice(1), mask: a.mask });
  }

  function accounts(s) {
    var form = el("form", null);
    var list = el("ul", { "class": "list" });
    s.accounts.forEach(function (a) {
      var id = "acct-" + a.id;
      list.appendChild(el("li", null, [el("label", { "class": "acct", "for": id }, [
        el("input", { type: "checkbox", id: id, name: "account", value: a.id, checked: a.preselected !== false, "data-type": a.type }),
        el("span", null, [el("span", { text: a.name }), el("span", { "class": "sub", text: accountLine(a) })])
      ])]));
    });
    // What is shared: the products and the optional ones not declined,
    // said before the accounts they apply to.
    var declined = (s.consent && s.consent.declinedProducts) || [];
    var products = (s.products || []).concat((s.optionalProducts || []).filter(function (p) { return declined.indexOf(p) < 0; }));
    var sharing = el("div", { "class": "consent", id: "sharing" }, [el("strong", { text: t("accounts.sharing", { app: appName((s.app || {}).name) }) }), el("ul", null, products.length ? products.map(function (p) {
      return el("li", { text: productText(p) });
    }) : [el("li", { text: t("accounts.basic") })])]);
    var submit = el("button", { type: "submit", "class": "primary", text: t("accounts.submit") });
    form.appendChild(sharing); form.appendChild(list); form.appendChild(submit);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var ids = Array.prototype.slice.call(form.querySelectorAll("input[name=account]:checked")).map(function (i) { return i.value; });
      if (!ids.length) { setAlert(t("accounts.noneChosen")); return; }
      busy(submit, true); setAlert("");
      api("POST", "complete", { accountIds: ids, consent: true }).then(done, function (err) { failed(err, submit); });
    });
    show(t("accounts.title"), [institutionHead(s), el("p", { "class": "muted", text: t("accounts.intro") }), form], true);
  }

  function done(res) {
    var r = res.result;
    completed = true;
    emit("connect_complete", { connectionId: r.connectionId, institutionId: r.institutionId, institutionName: r.institutionName,
      accountCount: r.accountCount, accounts: r.accounts });
    var finish = el("button", { type: "button", "class": "primary", id: "finish", text: t("action.done") });
    finish.addEventListener("click", function () {
      if (res.appRedirectUrl && !inFrame) {
        var u = new URL(res.appRedirectUrl); u.searchParams.set("connectionId", r.connectionId); location.assign(u.toString());
      } else if (!returnToApp({ banklink_status: "success", connectionId: r.connectionId })) close();
    });
    show(t("done.title"), [el("div", { "class": "center" }, [
      el("div", { "class": "check", "aria-hidden": "true", text: "\u2713" }),
      el("h2", { text: t("done.heading") }),
      el("p", { "class": "muted", text: tn("done.body", r.accountCount, { institution: r.institutionName }) }),
      el("ul", { "class": "list", style: null }, r.accounts.map(function (a) { return el("li", { "class": "acct", text: a.mask ? t("accounts.masked", { name: a.name, mask: a.mask }) : a.name }); })),
      finish
    ])], false);
    if ((res.appRedirectUrl || returnUrl()) && !inFrame) setTimeout(function () { finish.click(); }, 2500);
  }

  // exit says why the widget closed: after a success (status SUCCESS, no
  // step), or where the customer left and with what error showing.
  var completed = false;
  var lastError = null;
  // why, when the customer chose a way out ("My bank isn't listed"), is
  // {reason, searchString}; a click on Close passes an Event, no reason.
  function close(why) {
    why = why && why.reason ? why : null;
    var step = completed ? null : state ? state.step : null;
    var md = { status: completed ? "SUCCESS" : lastError && !why ? "ERROR" : "ABANDONED", step: step,
      reason: completed ? null : why ? why.reason : lastError ? lastError.reason : "USER_CLOSED", details: lastError && !why ? lastError.details : null };
    if (why) md.searchString = why.searchString;
    emit("exit", md);
    if (state && state.step !== "DONE") {
      // For the activity log; keepalive lets it outlive the page.
      var body = { step: state.step };
      if (why) { body.reason = why.reason; body.searchString = why.searchString; }
      fetch(base + "/api/exit", { method: "POST", keepalive: true, credentials: "omit", cache: "no-store",
        headers: { "Authorization": "Bearer " + token, "Content-Type": "application/json" }, body: JSON.stringify(body) }).catch(function () {});
    }
    if (!inFrame && returnToApp({ banklink_status: "exit", banklink_exit: md.status, banklink_reason: md.reason,
      connectionId: completed ? state.connectionId : null })) return;
    if (!inFrame && window.opener) { window.close(); return; }
    if (!inFrame && !completed) {
      // A tab of its own, opened without a redirect URL: nothing to go
      // back to, so say so rather than doing nothing.
      show(t("closed.title"), [el("div", { "class": "center" }, [
        el("p", { "class": "muted", text: why ? t("closed.notListed") : t("closed.nothing") })])], false);
    } else if (!inFrame) {
      show(t("closed.title"), [el("div", { "class": "center" }, [
        el("p", { "class": "muted", text: t("closed.connected") })])], false);
    }
  }

  backBtn.addEventListener("click", function () {
    busy(backBtn, true);
    api("POST", "back", {}).then(function (s) { busy(backBtn, false); render(s); }, function (e) { failed(e, backBtn); });
  });
  document.getElementById("close").addEventListener("click", close);
  // Escape closes an embedded widget, but not while the customer is in a
  // field (clearing a search box with Escape must not end the session).
  document.addEventListener("keydown", function (e) {
    var tag = e.target && e.target.tagName;
    if (e.key === "Escape" && inFrame && tag !== "INPUT" && tag !== "TEXTAREA" && tag !== "SELECT") close();
  });

  // Back from a bank's OAuth page: a refusal (Deny) or a failure is shown
  // on the step the session went back to, and reported to the app as an
  // error event after init, as any other failed step is.
  handOff(function () {
    var oauthErr = null;
    var start = oauth
      ? api("POST", "oauth", oauth).catch(function (err) { if ((err.data || {}).code === "UNAUTHORIZED") throw err; oauthErr = err; return api("GET", "session"); })
      : api("GET", "session");
    start = start.catch(function (err) {
      if ((err.data || {}).reason !== "CONTINUED_IN_ANOTHER_TAB") throw err;
      emit("init", {}); elsewhere(); return null;
    });
    start.then(function (s) {
      if (!s) return;
      // The session speaks another language than this page was rendered
      // in (a reload from an address without the lang it had): render
      // the page again in the session's; the token is in sessionStorage.
      if (s.language && s.language !== lang && params.get("lang") !== s.language) {
        location.replace(pageAddress(s.language)); return;
      }
      // init once per opening: the return from an OAuth bank reloads the
      // page but is the same opening.
      state = s; if (!oauth) emit("init", { connectionId: s.connectionId }); render(s);
      if (oauthErr) {
        setAlert(oauthErr.message);
        reportError(oauthErr, { step: "OAUTH" });
      }
    }, fatal);
  });
})();
