// Package dashboard is the operator dashboard served at /dashboard:
// server-rendered pages where the people running an app on banklink sign
// in and manage their account (API keys, webhooks, service providers and
// routing, widget origins) and look at its connections and the
// linking-conversion funnel.
//
// It changes nothing the API could not: every change goes through the
// same store interfaces and the API's own validation (httpapi's exported
// operations, webhookurl.Validate, banklink.NewAPIKey). Operators sign
// in with an email and a password (bcrypt) and get a session cookie;
// state changes are POSTs that carry the session's CSRF token and come
// from the public URL's origin. An operator sees one account, in both
// environments.
package dashboard

import (
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"banklink"
	"banklink/internal/httpx"
	"banklink/internal/linking"
	"banklink/internal/ratelimit"
)

//go:embed assets
var assets embed.FS

// Base is the path the dashboard is served under.
const Base = "/dashboard"

// Session and sign-in limits.
const (
	// SessionTTL is how long a sign-in lasts.
	SessionTTL = 12 * time.Hour
	// CookieName is the session cookie's name.
	CookieName = "banklink_session"
	// loginCookie carries the sign-in form's CSRF token before there is a
	// session (double-submit).
	loginCookie = "banklink_login"
	// touchEvery: a session's last-seen time is written at most this
	// often.
	touchEvery = time.Minute
	// maxFormBytes bounds a dashboard form.
	maxFormBytes = 64 << 10
)

// Config configures the dashboard.
type Config struct {
	// PublicURL is banklink's public base URL. State-changing requests
	// must come from its origin, and the session cookie is Secure when it
	// is https.
	PublicURL string
	// MaxFailedLogins failed sign-ins per email and client address are
	// allowed per FailedLoginWindow (default 5 per 15 minutes); past them
	// sign-ins of that email from that address are refused until the
	// window lets another through.
	MaxFailedLogins   int
	FailedLoginWindow time.Duration
}

// Dashboard serves the dashboard. Register it on the API server.
type Dashboard struct {
	Config Config
	// Now is the clock; tests replace it.
	Now func() time.Time

	deps     Deps
	store    banklink.Store
	log      *slog.Logger
	origin   string
	secure   bool
	failures *ratelimit.Limiter
	static   fs.FS
	files    *httpx.Assets // the static assets, gzipped once at start-up
	pages    map[string]*template.Template
	version  string
}

// New returns a dashboard. Its templates are embedded, so an error here
// is a bug: New panics.
func New(cfg Config) *Dashboard {
	if cfg.MaxFailedLogins <= 0 {
		cfg.MaxFailedLogins = 5
	}
	if cfg.FailedLoginWindow <= 0 {
		cfg.FailedLoginWindow = 15 * time.Minute
	}
	u, err := url.Parse(strings.TrimSuffix(cfg.PublicURL, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		panic(fmt.Sprintf("dashboard: public URL %q must be an absolute http(s) URL", cfg.PublicURL))
	}
	d := &Dashboard{Config: cfg, Now: time.Now, origin: strings.ToLower(u.Scheme + "://" + u.Host), secure: u.Scheme == "https",
		failures: ratelimit.New(float64(cfg.MaxFailedLogins)/cfg.FailedLoginWindow.Seconds(), cfg.MaxFailedLogins)}
	d.static, err = fs.Sub(assets, "assets")
	if err != nil {
		panic(err)
	}
	h := sha256.New()
	fs.WalkDir(d.static, ".", func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			b, _ := fs.ReadFile(d.static, p)
			h.Write(b)
		}
		return err
	})
	d.version = hex.EncodeToString(h.Sum(nil))[:12]
	// Gzipped once here, not per request: the assets are embedded.
	if d.files, err = httpx.NewAssets(d.static, ".js", ".css"); err != nil {
		panic(err)
	}
	d.pages = map[string]*template.Template{}
	layout := template.Must(template.New("layout.html").Funcs(template.FuncMap{
		"asset":    func(name string) string { return Base + "/static/" + name + "?v=" + d.version },
		"wire":     banklink.ProviderWireName,
		"when":     when,
		"pct":      pct,
		"short":    short,
		"join":     strings.Join,
		"envLink":  envLink,
		"contains": func(list []string, s string) bool { return indexOf(list, s) >= 0 },
		"dict":     dict,
	}).ParseFS(d.static, "layout.html", "partial-*.html"))
	names, _ := fs.Glob(d.static, "page-*.html")
	for _, name := range names {
		t := template.Must(layout.Clone())
		d.pages[strings.TrimSuffix(strings.TrimPrefix(name, "page-"), ".html")] = template.Must(t.ParseFS(d.static, name))
	}
	return d
}

// Server is what the dashboard mounts on: the API server, whose
// middleware (request ids, the request log, metrics) its routes run
// behind.
type Server interface {
	httpx.Router
	// Mux is the server's router, for the dashboard's catch-all 404.
	Mux() *http.ServeMux
}

// Deps are the services the dashboard's pages use.
type Deps struct {
	Store banklink.Store
	Log   *slog.Logger
	// Linking changes providers, routing and webhook profiles with the
	// API's rules; its directory and provider lists are the API's too.
	Linking *linking.Service
	// ForgetAPIKey drops a revoked key from the API server's cache.
	ForgetAPIKey func(id string)
	// APIVersion is the Meld-Version new API keys default to.
	APIVersion string
}

// Register adds the dashboard's routes to s, using deps.
func (d *Dashboard) Register(s Server, deps Deps) {
	d.deps, d.store, d.log = deps, deps.Store, deps.Log
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	s.Route("GET "+Base, d.redirectHome)
	// Any other path under the dashboard gets an HTML 404 (registered
	// without a method, so it never conflicts with the routes' 405s).
	s.Mux().Handle(Base+"/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { d.notFound(w, r) }))
	s.Route("GET "+Base+"/static/{file}", d.serveStatic)
	s.Route("GET "+Base+"/login", d.handleLoginPage)
	s.Route("POST "+Base+"/login", d.handleLogin)
	s.Route("POST "+Base+"/logout", d.post(d.handleLogout))
	for _, env := range []banklink.Environment{banklink.Sandbox, banklink.Production} {
		p := Base + "/" + string(env)
		s.Route("GET "+p+"/connections", d.get(env, d.handleConnections))
		s.Route("GET "+p+"/connections/{id}", d.get(env, d.handleConnection))
		s.Route("POST "+p+"/connections/{id}/refresh", d.postEnv(env, d.handleRefreshConnection))
		s.Route("POST "+p+"/connections/{id}/repair", d.postEnv(env, d.handleRepairConnection))
		s.Route("POST "+p+"/connections/{id}/delete", d.postEnv(env, d.handleDeleteConnection))
		s.Route("GET "+p+"/funnel", d.get(env, d.handleFunnel))
		s.Route("GET "+p+"/keys", d.get(env, d.handleKeys))
		s.Route("POST "+p+"/keys", d.postEnv(env, d.handleCreateKey))
		s.Route("POST "+p+"/keys/{id}/revoke", d.postEnv(env, d.handleRevokeKey))
		s.Route("GET "+p+"/webhooks", d.get(env, d.handleWebhooks))
		s.Route("POST "+p+"/webhooks", d.postEnv(env, d.handleCreateProfile))
		s.Route("POST "+p+"/webhooks/events/{id}/redeliver", d.postEnv(env, d.handleRedeliver))
		s.Route("POST "+p+"/webhooks/profiles/{id}/test", d.postEnv(env, d.handleTestEvent))
		s.Route("GET "+p+"/providers", d.get(env, d.handleProviders))
		s.Route("POST "+p+"/providers/{provider}", d.postEnv(env, d.handleSaveProvider))
		s.Route("POST "+p+"/providers/{provider}/delete", d.postEnv(env, d.handleDeleteProvider))
		s.Route("POST "+p+"/routing", d.postEnv(env, d.handleRouting))
		s.Route("GET "+p+"/origins", d.get(env, d.handleOrigins))
		s.Route("POST "+p+"/origins", d.postEnv(env, d.handleSetOrigins))
		s.Route("GET "+p+"/app", d.get(env, d.handleApp))
		s.Route("POST "+p+"/app", d.postEnv(env, d.handleSaveApp))
	}
}

func (d *Dashboard) home() string { return Base + "/sandbox/connections" }

func (d *Dashboard) redirectHome(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, d.home(), http.StatusSeeOther)
	return nil
}

func (d *Dashboard) notFound(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Path == Base+"/" {
		return d.redirectHome(w, r)
	}
	return d.fail(w, r, nil, banklink.Errorf(banklink.ENOTFOUND, "There is no dashboard page here."))
}

func (d *Dashboard) serveStatic(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("file")
	if !d.files.Has(name) {
		return banklink.Errorf(banklink.ENOTFOUND, "No such file.")
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("v") == d.version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	d.files.Serve(w, r, name)
	return nil
}

// securityHeaders go on every page: a strict CSP (our own script and
// stylesheet only, no framing), no caching, and a referrer policy that
// keeps same-origin Referer (and Origin) on form posts.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", "text/html; charset=utf-8")
}

// request is a signed-in dashboard request.
type request struct {
	sess  *banklink.OperatorSession
	env   banklink.Environment
	scope banklink.Scope
	// msg is a confirmation to show (after a redirect).
	msg string
}

type pageHandler func(w http.ResponseWriter, r *http.Request, rq *request) error

// session returns the request's live session, or nil.
func (d *Dashboard) session(r *http.Request) *banklink.OperatorSession {
	c, err := r.Cookie(CookieName)
	if err != nil || len(c.Value) != 43 {
		return nil
	}
	sess, err := d.store.FindOperatorSession(r.Context(), hashID(c.Value), d.Now())
	if err != nil {
		if banklink.ErrorCode(err) != banklink.ENOTFOUND {
			d.log.Error("dashboard session", slog.String("request_id", banklink.RequestIDFrom(r.Context())), slog.Any("err", err))
		}
		return nil
	}
	if now := d.Now(); now.Sub(sess.LastSeenAt) >= touchEvery {
		if err := d.store.TouchOperatorSession(r.Context(), sess.IDHash, now); err != nil {
			d.log.Warn("dashboard session touch", slog.Any("err", err))
		}
	}
	return sess
}

// toLogin sends a request without a session to the sign-in page, back
// here afterwards.
func (d *Dashboard) toLogin(w http.ResponseWriter, r *http.Request) error {
	next := ""
	if r.Method == http.MethodGet {
		next = r.URL.RequestURI()
	}
	target := Base + "/login"
	if safeNext(next) {
		target += "?" + url.Values{"next": {next}}.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// safeNext accepts only a dashboard path on this server as a place to
// return to (no open redirect).
func safeNext(next string) bool {
	u, err := url.Parse(next)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && strings.HasPrefix(u.Path, Base+"/") &&
		path.Clean(u.Path) == u.Path && !strings.HasPrefix(u.Path, Base+"/login") && !strings.ContainsAny(next, `\`) && !strings.Contains(next, "//")
}

// get serves a page of one environment to a signed-in operator. GETs
// never change anything.
func (d *Dashboard) get(env banklink.Environment, h pageHandler) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess := d.session(r)
		if sess == nil {
			return d.toLogin(w, r)
		}
		rq := &request{sess: sess, env: env, scope: banklink.Scope{AccountID: sess.AccountID, Environment: env}, msg: messages[r.URL.Query().Get("done")]}
		if err := h(w, r, rq); err != nil {
			return d.fail(w, r, rq, err)
		}
		return nil
	}
}

// post guards a state-changing request: a live session, the public URL's
// origin and the session's CSRF token.
func (d *Dashboard) post(h pageHandler) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess := d.session(r)
		if sess == nil {
			return d.toLogin(w, r)
		}
		rq := &request{sess: sess, env: banklink.Sandbox, scope: banklink.Scope{AccountID: sess.AccountID, Environment: banklink.Sandbox}}
		if err := d.checkPost(w, r, sess.CSRFToken, "csrf"); err != nil {
			d.log.Warn("dashboard request refused", slog.String("request_id", banklink.RequestIDFrom(r.Context())), slog.String("reason", err.Error()),
				slog.String("operator_id", sess.OperatorID))
			return d.fail(w, r, rq, errForbidden)
		}
		if err := h(w, r, rq); err != nil {
			return d.fail(w, r, rq, err)
		}
		return nil
	}
}

func (d *Dashboard) postEnv(env banklink.Environment, h pageHandler) httpx.HandlerFunc {
	return d.post(func(w http.ResponseWriter, r *http.Request, rq *request) error {
		rq.env, rq.scope.Environment = env, env
		return h(w, r, rq)
	})
}

var errForbidden = banklink.Errorf(banklink.EFORBIDDEN, "This form has expired or did not come from this dashboard. Go back, reload the page and try again.")

// checkPost checks a form post's origin and its token (field against
// want, in constant time). The reason it returns is for the log only.
func (d *Dashboard) checkPost(w http.ResponseWriter, r *http.Request, want, field string) error {
	if !d.sameOrigin(r) {
		return fmt.Errorf("origin %q / referer host not %s", truncate(r.Header.Get("Origin"), 80), d.origin)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("form: %w", err)
	}
	got := r.PostForm.Get(field)
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return fmt.Errorf("missing or wrong CSRF token")
	}
	return nil
}

// sameOrigin reports whether a post comes from a page of the public URL:
// its Origin, or without one its Referer, must be the public origin.
func (d *Dashboard) sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		return strings.EqualFold(o, d.origin)
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		u, err := url.Parse(ref)
		return err == nil && strings.EqualFold(u.Scheme+"://"+u.Host, d.origin)
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// view is what every page template gets.
type view struct {
	Title     string
	Nav       string
	Env       string
	Page      string // the page's path under the environment, for the toggle
	Email     string
	AccountID string
	CSRF      string
	Msg       string
	Error     string
	Data      any
}

func (d *Dashboard) render(w http.ResponseWriter, status int, page string, rq *request, v view) error {
	securityHeaders(w)
	if rq != nil && rq.sess != nil {
		v.Email, v.AccountID, v.CSRF, v.Env = rq.sess.Email, rq.sess.AccountID, rq.sess.CSRFToken, string(rq.env)
		if v.Msg == "" {
			v.Msg = rq.msg
		}
	}
	t, ok := d.pages[page]
	if !ok {
		return fmt.Errorf("no page %q", page)
	}
	w.WriteHeader(status)
	return t.ExecuteTemplate(w, "layout.html", v)
}

// fail renders an error page. Only banklink errors' messages are shown;
// anything else is logged with the request id and shown as an internal
// error.
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, rq *request, err error) error {
	status := httpx.StatusOf(err)
	msg := banklink.ErrorMessage(err)
	if status >= 500 {
		d.log.Error("dashboard", slog.String("request_id", banklink.RequestIDFrom(r.Context())), slog.String("route", r.Pattern), slog.Any("err", err))
		msg = "Something went wrong on our side (request " + banklink.RequestIDFrom(r.Context()) + "). Please try again."
	}
	title := http.StatusText(status)
	return d.render(w, status, "error", rq, view{Title: title, Error: msg, Page: "connections"})
}

// redirect answers a successful post: back to a page with a confirmation.
func redirect(w http.ResponseWriter, r *http.Request, to, done string) error {
	if done != "" {
		to += "?done=" + url.QueryEscape(done)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// messages are the confirmations redirects may show (only these: the
// query never reflects text).
var messages = map[string]string{
	"revoked":          "The API key was revoked. It stops working within seconds on every replica.",
	"provider-saved":   "The service provider was saved.",
	"provider-deleted": "The service provider configuration was removed.",
	"rules-saved":      "The routing rules were saved.",
	"origins-saved":    "The allowed widget origins were saved.",
	"app-saved":        "The app profile was saved. New widget sessions show it.",
	"refreshed":        "A refresh was started: the connection's data is read from its provider again, and webhooks follow.",
	"deleted":          "The connection was deleted, at its provider too. A BANK_LINKING_CONNECTION_DELETED webhook follows.",
	"redelivered":      "The event was queued again for every profile that receives it.",
	"test-sent":        "A WEBHOOK_TEST event was queued for the profile.",
}

func (rq *request) page(p string) string { return Base + "/" + string(rq.env) + "/" + p }

func hashID(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

func envLink(env, page string) string { return Base + "/" + env + "/" + page }

func when(t any) string {
	switch v := t.(type) {
	case time.Time:
		if v.IsZero() {
			return "–"
		}
		return v.UTC().Format("2006-01-02 15:04 UTC")
	case *time.Time:
		if v == nil {
			return "–"
		}
		return v.UTC().Format("2006-01-02 15:04 UTC")
	}
	return ""
}

func pct(n, of int) string {
	if of == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(of))
}

func short(s string) string {
	if len(s) <= 10 {
		return s
	}
	return s[:8] + "…"
}

// dict builds a map for a sub-template from key, value pairs.
func dict(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		m[k] = kv[i+1]
	}
	return m
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
