// Package widget serves the Connect Widget: the hosted page a customer uses
// to link a bank, its small JSON API scoped by the connect token (never the
// API key), the sandbox bank's simulated OAuth page and the demo page.
package widget

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"banklink"
	"banklink/internal/connecttoken"
	"banklink/internal/httpx"
	"banklink/internal/linking"
	"banklink/internal/ratelimit"
	"banklink/internal/routing"
)

//go:embed assets
var assets embed.FS

// Config configures the widget.
type Config struct {
	// WidgetURL is the public URL of the widget page (…/connect).
	WidgetURL string
	// Providers lists the provider types enabled per environment, in
	// routing order.
	Providers map[banklink.Environment][]string
	// Demo, when set, serves the demo page at / and uses this to start a
	// sandbox connection for it. Its endpoints need no key: the backend
	// must keep to a demo account of its own.
	Demo DemoBackend
	// OnComplete, when set, is called once a connection completes (to
	// start its aggregation).
	OnComplete func(ctx context.Context, scope banklink.Scope, connectionID string) error
	// RateLimit and RateBurst bound one widget session's API requests;
	// 0 disables the limit.
	RateLimit float64
	RateBurst int
	// LogoClient fetches institution logos from the providers' URLs;
	// nil means a client that reaches public addresses only, over https
	// (tests pass one that trusts their local server).
	LogoClient *http.Client
}

// DemoBackend is the tiny app backend behind the demo page: it does what
// an app's server does, calling connect/start with its sandbox key.
type DemoBackend interface {
	StartDemo(ctx context.Context, externalCustomerID string) (connectionID, widgetURL string, err error)
	DemoConnection(ctx context.Context, connectionID string) (*banklink.Connection, error)
}

// Widget serves the widget.
type Widget struct {
	Store     banklink.Store
	Tokens    *connecttoken.Signer
	Directory linking.Directory
	Providers map[string]banklink.InteractiveLogin
	Log       *slog.Logger
	Config    Config
	Now       func() time.Time
	// Linking runs the use cases the widget's endpoints translate to.
	Linking *linking.Service

	limiter *ratelimit.Limiter
	demo    *ratelimit.Limiter
	static  fs.FS
	// files are the static assets, each gzipped once at start-up.
	files    *httpx.Assets
	pages    *template.Template
	version  string
	sizes    map[string]int
	basePath string
	// cspExtra adds to the widget page's CSP: frame-src with the origins
	// of the providers whose login pages it embeds (banklink.FrameSource).
	cspExtra []string
	logos    *logoCache
}

// New returns a Widget.
func New(store banklink.Store, tokens *connecttoken.Signer, dir linking.Directory, providers map[string]banklink.InteractiveLogin, log *slog.Logger, cfg Config) (*Widget, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.WidgetURL)
	if err != nil || u.Path == "" || u.Path == "/" {
		return nil, fmt.Errorf("widget URL %q must have a path such as /connect", cfg.WidgetURL)
	}
	w := &Widget{Store: store, Tokens: tokens, Directory: dir, Providers: providers, Log: log, Config: cfg, Now: time.Now,
		static: static, basePath: strings.TrimSuffix(u.Path, "/"), sizes: map[string]int{},
		limiter: ratelimit.New(cfg.RateLimit, cfg.RateBurst), demo: ratelimit.New(DemoRateLimit, DemoRateBurst),
		logos: newLogoCache(cfg.LogoClient)}
	// Through w.Now, so that a clock set on the Widget (tests) is the use
	// cases' clock too.
	w.Linking = &linking.Service{Store: store, Tokens: tokens, Directory: dir, Log: log, Now: func() time.Time { return w.Now() },
		// Read at each call, so that an OnComplete set after New counts.
		Runner: linking.RunnerFunc(func(ctx context.Context, scope banklink.Scope, id string) error {
			if w.Config.OnComplete == nil {
				return nil
			}
			return w.Config.OnComplete(ctx, scope, id)
		})}
	var origins []string
	for _, p := range providers {
		if fsrc, ok := p.(banklink.FrameSource); ok {
			origins = append(origins, fsrc.FrameOrigins()...)
		}
	}
	slices.Sort(origins)
	if origins = slices.Compact(origins); len(origins) > 0 {
		w.cspExtra = []string{"frame-src " + strings.Join(origins, " ")}
	}
	// Static assets are named with a content hash in their query so they
	// can be cached forever while pages (which carry tokens) are never
	// cached.
	h := sha256.New()
	err = fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, p)
		w.sizes[p] = len(b)
		h.Write(b)
		return err
	})
	if err != nil {
		return nil, err
	}
	w.version = hex.EncodeToString(h.Sum(nil))[:12]
	if w.files, err = httpx.NewAssets(static, ".js", ".css", ".svg"); err != nil {
		return nil, err
	}
	w.pages, err = template.New("").Funcs(template.FuncMap{"asset": w.assetURL}).ParseFS(static, "*.html")
	if err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Widget) assetURL(name string) string {
	return w.basePath + "/static/" + name + "?v=" + w.version
}

// Register adds the widget's routes to s (the API server), behind its
// middleware.
func (w *Widget) Register(s httpx.Router) {
	b := w.basePath
	s.Route("GET "+b, w.page("connect.html"))
	s.Route("GET "+b+"/static/{file}", w.serveStatic)
	s.Route("GET "+b+"/embed.js", func(rw http.ResponseWriter, r *http.Request) error {
		r.SetPathValue("file", "embed.js")
		return w.serveStatic(rw, r)
	})
	s.Route("GET "+b+"/sandbox/authorize", w.sandboxAuthorize)
	s.Route("GET "+b+"/logo/{id}", w.serveLogo)
	s.Route("GET "+b+"/api/session", w.api(w.handleSession))
	s.Route("GET "+b+"/api/institutions", w.api(w.handleInstitutions))
	s.Route("POST "+b+"/api/consent", w.api(w.handleConsent))
	s.Route("POST "+b+"/api/select", w.api(w.handleSelect))
	s.Route("POST "+b+"/api/back", w.api(w.handleBack))
	s.Route("POST "+b+"/api/exit", w.api(w.handleExit))
	s.Route("POST "+b+"/api/login", w.api(w.handleLogin))
	s.Route("POST "+b+"/api/mfa", w.api(w.handleMFA))
	s.Route("POST "+b+"/api/oauth", w.api(w.handleOAuth))
	s.Route("POST "+b+"/api/claim", w.apiAnyTab(w.handleClaim))
	s.Route("POST "+b+"/api/complete", w.handleComplete)
	if w.Config.Demo != nil {
		s.Route("GET /{$}", w.demoPage)
		s.Route("POST /demo/api/start", w.demoStart)
		s.Route("GET /demo/api/connections/{id}", w.demoConnection)
	}
}

// AssetSizes returns the size in bytes of each embedded asset.
func (w *Widget) AssetSizes() map[string]int { return w.sizes }

func (w *Widget) serveStatic(rw http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("file")
	if !w.files.Has(name) {
		return banklink.Errorf(banklink.ENOTFOUND, "No such file.")
	}
	switch {
	case strings.HasSuffix(name, ".css"):
		rw.Header().Set("Content-Type", "text/css; charset=utf-8")
	case strings.HasSuffix(name, ".js"):
		rw.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case strings.HasSuffix(name, ".svg"):
		rw.Header().Set("Content-Type", "image/svg+xml")
	}
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("v") == w.version {
		rw.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		rw.Header().Set("Cache-Control", "no-cache")
	}
	w.files.Serve(rw, r, name)
	return nil
}

// securityHeaders are set on every page: a strict CSP (our own scripts
// and styles only), no referrer (the URL carries a token), no caching.
func securityHeaders(rw http.ResponseWriter, frameAncestors string, extra ...string) {
	h := rw.Header()
	csp := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors " + frameAncestors
	for _, e := range extra {
		csp += "; " + e
	}
	h.Set("Content-Security-Policy", csp)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", "text/html; charset=utf-8")
}

// frameAncestors returns who may embed the widget for scope: the
// account's configured origins; without any, any origin in sandbox and
// none in production.
func (w *Widget) frameAncestors(ctx context.Context, scope banklink.Scope) (csp string, origins []string) {
	origins, err := w.Store.FindWidgetOrigins(ctx, scope)
	if err != nil {
		w.Log.Warn("widget origins", slog.Any("err", err))
	}
	if len(origins) > 0 {
		return strings.Join(origins, " "), origins
	}
	if scope.Environment == banklink.Sandbox {
		return "*", []string{"*"}
	}
	return "'none'", []string{}
}

func (w *Widget) page(name string) httpx.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) error {
		ancestors := "*" // error pages carry nothing secret and must reach the app
		q := r.URL.Query()
		logo := ""
		c, err := w.Tokens.Parse(q.Get("connectToken"))
		if err == nil {
			scope := banklink.Scope{AccountID: c.Account, Environment: envOf(c)}
			ancestors, _ = w.frameAncestors(r.Context(), scope)
			logo = w.logoOrigin(r.Context(), scope)
		} else {
			c = nil
		}
		lang, pinned := pageLanguage(c, q, r)
		securityHeaders(rw, ancestors, w.cspExtra...)
		if logo != "" {
			// The app's logo (an https URL, banklink.AppProfile) is the
			// one image from elsewhere: its origin only, nothing else.
			h := rw.Header()
			h.Set("Content-Security-Policy", strings.Replace(h.Get("Content-Security-Policy"), "img-src 'self' data:", "img-src 'self' data: "+logo, 1))
		}
		// The page's language depends on these.
		rw.Header().Add("Vary", "Accept-Language")
		rw.Header().Set("Content-Language", lang)
		return w.pages.ExecuteTemplate(rw, name, pageData{Base: w.basePath, Lang: lang, Pinned: pinned, Strings: clientStrings(lang)})
	}
}

func envOf(c *connecttoken.Claims) banklink.Environment {
	if c.Environment == "" {
		return banklink.Sandbox
	}
	return c.Environment
}

// widgetRequest is an authenticated widget API call.
type widgetRequest struct {
	claims *connecttoken.Claims
	scope  banklink.Scope
	conn   *banklink.Connection
	sess   *banklink.ConnectSession
	// The account's provider configurations and routing rules; when it
	// has none, the deployment's providers apply in configured order.
	configs []*banklink.ProviderConfig
	rules   []banklink.RoutingRule
	// tab is the calling page's tab (TabHeader), "" when it sends none.
	tab string
	// lang is the catalogue the call answers in (languageOf).
	lang string
}

type widgetHandler func(rw http.ResponseWriter, r *http.Request, wr *widgetRequest) error

// ReasonTooManyAttempts is the reason of a login refused after too many
// failed attempts (token failures are connecttoken's and linking's).
const ReasonTooManyAttempts = "TOO_MANY_ATTEMPTS"

// tokenError refuses a token; key is its message in the catalogue.
func tokenError(reason, key string) error {
	return errText(banklink.EUNAUTHORIZED, reason, key)
}

// authorize checks the connect token sent as "Authorization: Bearer" and
// loads the connection it is for.
//
// Nothing the client chose is kept: a token longer than any connect token
// is refused unread, a verified token is rate limited by its connection,
// and failed verifications by the client's address, so a flood of made-up
// tokens costs neither memory nor another client's budget.
func (w *Widget) authorize(r *http.Request) (*widgetRequest, error) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil, tokenError(connecttoken.ReasonMalformed, "error.tokenIncomplete")
	}
	raw = strings.TrimSpace(raw)
	if len(raw) > connecttoken.MaxLength {
		return nil, tokenError(connecttoken.ReasonMalformed, "error.TOKEN_MALFORMED")
	}
	c, err := w.Tokens.Parse(raw)
	if err != nil {
		if err := w.limit("client " + ratelimit.ClientKey(r.RemoteAddr)); err != nil {
			return nil, err
		}
		var te *connecttoken.Error
		errors.As(err, &te)
		if te != nil && te.Reason == connecttoken.ReasonExpired {
			return nil, tokenError(te.Reason, "error.TOKEN_EXPIRED")
		}
		return nil, tokenError(connecttoken.ReasonSignature, "error.TOKEN_SIGNATURE_INVALID")
	}
	if err := w.limit("connection " + c.Connection); err != nil {
		return nil, err
	}
	scope := banklink.Scope{AccountID: c.Account, Environment: envOf(c)}
	conn, err := w.Store.FindConnectionByID(r.Context(), scope, c.Connection)
	if banklink.ErrorCode(err) == banklink.ENOTFOUND {
		return nil, tokenError(connecttoken.ReasonSignature, "error.TOKEN_SIGNATURE_INVALID")
	}
	if err != nil {
		return nil, err
	}
	configs, err := w.Store.FindProviderConfigs(r.Context(), scope)
	if err != nil {
		return nil, err
	}
	rules, err := w.Store.FindRoutingRules(r.Context(), scope)
	if err != nil {
		return nil, err
	}
	return &widgetRequest{claims: c, scope: scope, conn: conn, configs: configs, rules: rules, lang: languageOf(c, r)}, nil
}

// limit takes a token from key's bucket.
func (w *Widget) limit(key string) error {
	if ok, wait := w.limiter.Allow(key, time.Now()); !ok {
		err := errText(banklink.ERATELIMITED, "RATE_LIMITED", "error.RATE_LIMITED", "seconds", strconv.Itoa(ratelimit.RetryAfter(wait)))
		err.(*textError).err.Retryable = true
		return err
	}
	return nil
}

// checkOpen refuses a connection that can no longer be linked (or, for a
// repair token, repaired).
func (w *Widget) checkOpen(wr *widgetRequest) error {
	return linking.CheckOpen(wr.link(), w.Now())
}

// link is the request's hold on its connection, as linking sees it.
func (wr *widgetRequest) link() *linking.Link {
	return &linking.Link{Scope: wr.scope, Connection: wr.conn, Repair: wr.claims.Repair, RepairOf: wr.claims.RepairOf}
}

func (w *Widget) api(h widgetHandler) httpx.HandlerFunc { return w.apiFor(h, false) }

// apiAnyTab is api for the one call a tab that does not drive the
// session may make: taking it over.
func (w *Widget) apiAnyTab(h widgetHandler) httpx.HandlerFunc { return w.apiFor(h, true) }

func (w *Widget) apiFor(h widgetHandler, anyTab bool) httpx.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) (err error) {
		rw.Header().Set("Cache-Control", "no-store")
		// Errors in the session's language; before the token is read,
		// in the caller's.
		lang := languageOf(nil, r)
		defer func() { err = localize(err, lang) }()
		wr, err := w.authorize(r)
		if err != nil {
			return err
		}
		lang = wr.lang
		if err := w.checkOpen(wr); err != nil {
			return err
		}
		if wr.sess, err = w.loadSession(r.Context(), wr); err != nil {
			return err
		}
		if wr.tab, err = tabOf(r); err != nil {
			return err
		}
		if !anyTab {
			if err := checkTab(wr.sess, wr.tab); err != nil {
				return err
			}
			if r.Method != http.MethodGet && wr.sess.Tab == "" {
				// The first tab to act drives the session; the claim is
				// saved with this request's change.
				wr.sess.Tab = wr.tab
			}
		}
		return h(rw, r, wr)
	}
}

// TabHeader carries the widget page's tab id on every widget API call.
const TabHeader = "Banklink-Tab"

// ReasonOtherTab is the reason of a 409 to a tab that does not drive the
// session.
const ReasonOtherTab = "CONTINUED_IN_ANOTHER_TAB"

// tabOf reads the caller's tab id: "" when the caller sends none (an app
// server or a script calling the widget API directly, which tabs do not
// bind), else 16 to 64 letters, digits, '-' or '_'.
func tabOf(r *http.Request) (string, error) {
	t := r.Header.Get(TabHeader)
	if t == "" {
		return "", nil
	}
	ok := len(t) >= 16 && len(t) <= 64
	for i := 0; ok && i < len(t); i++ {
		c := t[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
	}
	if !ok {
		return "", banklink.Errorf(banklink.EBADREQUEST, "The %s header must be 16 to 64 letters, digits, '-' or '_'.", TabHeader)
	}
	return t, nil
}

// checkTab refuses a tab other than the one driving s.
func checkTab(s *banklink.ConnectSession, tab string) error {
	// A finished session's result may be shown in any tab.
	if tab == "" || s.Tab == "" || s.Tab == tab || s.Step == banklink.StepDone {
		return nil
	}
	return errText(banklink.ECONFLICT, ReasonOtherTab, "error."+ReasonOtherTab)
}

// loadSession returns the saved progress, or starts it: at the picker, or
// at the institution's login when connect/start named one.
func (w *Widget) loadSession(ctx context.Context, wr *widgetRequest) (*banklink.ConnectSession, error) {
	s, err := w.Store.FindConnectSession(ctx, wr.conn.ID)
	if err == nil && !(wr.claims.Repair && s.Step == banklink.StepDone) {
		return s, nil
	}
	if err != nil && banklink.ErrorCode(err) != banklink.ENOTFOUND {
		return nil, err
	}
	// A new session; for a repair, a fresh login at the same institution,
	// replacing the finished session (at its version).
	fresh := &banklink.ConnectSession{ConnectionID: wr.conn.ID, Step: banklink.StepPick}
	if s != nil {
		fresh.Version = s.Version
	}
	if wr.conn.InstitutionID != "" {
		if err := w.choose(ctx, wr, fresh, wr.conn.InstitutionID); err != nil {
			return nil, err
		}
	}
	err = w.save(ctx, fresh)
	if banklink.ErrorCode(err) == banklink.ECONFLICT {
		// A concurrent first request (another tab, another replica)
		// started the session: carry on with the one it stored.
		return w.Store.FindConnectSession(ctx, wr.conn.ID)
	}
	return fresh, err
}

// save stores s unless another request saved the session since s was
// read: then this request's change would undo that one's, and it gets
// ECONFLICT instead.
func (w *Widget) save(ctx context.Context, s *banklink.ConnectSession) error {
	s.UpdatedAt = w.Now()
	err := w.Store.SaveConnectSession(ctx, s)
	if banklink.ErrorCode(err) == banklink.ECONFLICT {
		return outOfDate()
	}
	return err
}

// outOfDate is the answer to a request that lost a race to move the
// session on: the customer acted in two tabs, or submitted twice.
func outOfDate() error { return linking.OutOfDate() }

func (w *Widget) eligibility(wr *widgetRequest) banklink.Eligibility {
	providers := w.enabled(wr)
	if p := wr.conn.RequestedProvider; p != "" {
		// connect/start named the provider: only its institutions.
		providers = map[string]bool{p: providers[p]}
	}
	return banklink.Eligibility{
		Products:      banklink.NewProductSet(wr.conn.Products...),
		Regions:       wr.conn.Regions,
		AllowRedirect: wr.conn.AllowRedirect,
		Providers:     providers,
	}
}

// enabledList is the request's providers in waterfall order: the
// account's enabled provider configurations by display order, or, for an
// account that configured none, the deployment's providers. Either way
// only providers this deployment runs for the environment.
func (w *Widget) enabledList(wr *widgetRequest) []string {
	var out []string
	allowed := func(p string) bool {
		_, ok := w.Providers[p]
		return ok && slices.Contains(w.Config.Providers[wr.scope.Environment], p)
	}
	if len(wr.configs) > 0 {
		for _, c := range wr.configs {
			if c.Enabled && allowed(c.ProviderType) {
				out = append(out, c.ProviderType)
			}
		}
		return out
	}
	for _, p := range w.Config.Providers[wr.scope.Environment] {
		if allowed(p) {
			out = append(out, p)
		}
	}
	return out
}

func (w *Widget) enabled(wr *widgetRequest) map[string]bool {
	m := map[string]bool{}
	for _, p := range w.enabledList(wr) {
		m[p] = true
	}
	return m
}

// profile is the request's routing rules as a routing profile.
func (wr *widgetRequest) profile() *routing.Profile {
	if len(wr.rules) == 0 {
		return nil
	}
	p := &routing.Profile{ID: "default"}
	for _, r := range wr.rules {
		p.Rules = append(p.Rules, routing.Rule{InstitutionID: r.InstitutionID, Provider: r.ProviderType, Action: routing.Action(r.Action)})
	}
	return p
}

// providerAccess returns the account's credentials for provider and, for
// providers with provider-side users, the customer's user under the
// configuration's current generation, created on first use.
func (w *Widget) providerAccess(ctx context.Context, wr *widgetRequest, provider string) (map[string]string, string, error) {
	var cfg *banklink.ProviderConfig
	for _, c := range wr.configs {
		if c.ProviderType == provider {
			cfg = c
		}
	}
	var creds map[string]string
	if cfg != nil {
		creds = cfg.Credentials
	}
	prov, ok := w.Providers[provider].(banklink.UserProvisioner)
	if !ok {
		return creds, "", nil
	}
	if cfg != nil {
		if id, err := w.Store.ProviderUser(ctx, wr.conn.CustomerID, cfg.ID, cfg.Generation); err != nil || id != "" {
			return creds, id, err
		}
	}
	// A customer created without an external id (connect/start without
	// externalCustomerId) is known to the provider by banklink's id.
	ext := wr.conn.ExternalCustomerID
	if ext == "" {
		ext = "banklink-customer-" + wr.conn.CustomerID
	}
	id, err := prov.CreateUser(ctx, creds, ext)
	if pe, ok := errors.AsType[*banklink.ProviderError](err); ok {
		return nil, "", &banklink.Error{Code: banklink.ELOGIN, Reason: pe.Reason, Message: pe.DisplayMessage, Retryable: pe.Retryable}
	}
	if err != nil {
		return nil, "", err
	}
	if cfg != nil && id != "" {
		id, err = w.Store.SaveProviderUser(ctx, wr.conn.CustomerID, cfg.ID, cfg.Generation, id, w.Now())
	}
	return creds, id, err
}

// Health-aware routing: a provider with FailingAfter failures in a row at
// an institution within FailureWindow is passed over there while another
// provider can serve it.
const (
	FailingAfter  = 3
	FailureWindow = 15 * time.Minute
)

// route picks the provider for an institution (see package routing): the
// provider connect/start named, else the first enabled provider, in
// configured order, that supports every required product there and the
// redirect preference and has not been failing there lately.
func (w *Widget) route(ctx context.Context, wr *widgetRequest, in *banklink.Institution) (banklink.InteractiveLogin, *banklink.RoutingDecision, error) {
	enabled := w.enabledList(wr)
	now := w.Now()
	d, err := routing.Decide(routing.Request{
		Institution: in, Products: banklink.NewProductSet(wr.conn.Products...), AllowRedirect: wr.conn.AllowRedirect,
		Enabled: enabled, Explicit: wr.conn.RequestedProvider, Now: now, Profile: wr.profile(),
		Health: func(provider, institutionID string) (bool, string) {
			n, reason, err := w.Store.ProviderFailures(ctx, provider, institutionID, now.Add(-FailureWindow))
			if err != nil {
				w.Log.Warn("provider health", slog.Any("err", err))
				return false, ""
			}
			return n >= FailingAfter, fmt.Sprintf("%d failures in a row (last: %s)", n, reason)
		},
	})
	if err != nil {
		return nil, d, errText(banklink.EBADREQUEST, "", "error.institutionUnavailable", "institution", in.Name)
	}
	return w.Providers[d.Provider], d, nil
}

// recordAttempt feeds health-aware routing with a login's outcome. Only
// failures on the provider's or institution's side count, not a customer
// mistyping a password.
func (w *Widget) recordAttempt(ctx context.Context, s *banklink.ConnectSession, err error) {
	if s.ProviderType == "" || s.InstitutionID == "" {
		return
	}
	ok, reason := err == nil, ""
	if pe, isPE := errors.AsType[*banklink.ProviderError](err); isPE {
		if pe.Reason != banklink.LoginInstitutionDown && pe.Reason != banklink.LoginProviderDown {
			return
		}
		reason = pe.Reason
	} else if err != nil {
		return
	}
	// Best effort: health is a trend, and the customer should not wait
	// for one sample of it to be durable.
	if rerr := w.Store.RecordProviderAttempt(banklink.BestEffort(ctx), s.ProviderType, s.InstitutionID, ok, reason, w.Now()); rerr != nil {
		w.Log.Warn("record provider attempt", slog.Any("err", rerr))
	}
}

func (w *Widget) institution(id string) (*banklink.Institution, error) {
	if in, ok := w.Directory.Current().ByID(id); ok {
		return in, nil
	}
	return nil, banklink.Errorf(banklink.ENOTFOUND, "Institution not found.")
}

func (w *Widget) loginRequest(r *http.Request, wr *widgetRequest, in *banklink.Institution, provider string) (banklink.LoginRequest, error) {
	creds, userID, err := w.providerAccess(r.Context(), wr, provider)
	if err != nil {
		return banklink.LoginRequest{}, err
	}
	req := banklink.LoginRequest{
		Institution: in, ProviderInstitutionID: in.Providers[provider].ProviderInstitutionID, Products: wr.conn.Products,
		OptionalProducts: accepted(wr.conn.OptionalProducts, wr.sess), Now: w.Now(),
		CallbackURL:         w.Config.WidgetURL + "?" + url.Values{"connectToken": {bearer(r)}, "oauth": {"callback"}}.Encode(),
		ProviderCredentials: creds, ProviderUserID: userID, Language: wr.lang,
	}
	if wr.claims.Repair && provider == wr.conn.ProviderType {
		// A repair through the provider that holds the login: it may
		// fix that login rather than make another.
		req.RepairLoginID = wr.conn.ProviderLoginID
	}
	return req, nil
}

func bearer(r *http.Request) string {
	t, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return strings.TrimSpace(t)
}

// choose moves the session to the login of institution id.
func (w *Widget) choose(ctx context.Context, wr *widgetRequest, s *banklink.ConnectSession, id string) error {
	in, err := w.institution(id)
	if err != nil {
		return err
	}
	if why := in.CheckEligibility(w.eligibility(wr)); !why.OK() {
		return errText(banklink.EBADREQUEST, "", "error.institutionIneligible", "institution", in.Name)
	}
	prov, d, err := w.route(ctx, wr, in)
	if err != nil {
		return err
	}
	*s = banklink.ConnectSession{ConnectionID: s.ConnectionID, Step: banklink.StepCredentials, InstitutionID: in.ID, ProviderType: prov.Type(),
		Routing: d, Failures: s.Failures, Version: s.Version, Tab: s.Tab, Consent: s.Consent}
	return nil
}

// providerError turns a provider failure into the widget's error. A wrong
// password or MFA answer was counted before it was sent (attempt); the
// one that reaches the limit says so.
func (w *Widget) providerError(ctx context.Context, s *banklink.ConnectSession, err error) error {
	pe, ok := errors.AsType[*banklink.ProviderError](err)
	if !ok {
		return err
	}
	if !showingForm(ctx) {
		w.recordAttempt(ctx, s, err)
	}
	out := &banklink.Error{Code: banklink.ELOGIN, Reason: pe.Reason, Message: pe.DisplayMessage, Retryable: pe.Retryable}
	if customerFailure(pe) && s.Failures >= banklink.MaxLoginFailures {
		return tooManyAttempts()
	}
	return out
}

// customerFailure reports whether a login failed on the customer's side
// (a wrong password or MFA answer): the failures a session may have only
// so many of.
func customerFailure(pe *banklink.ProviderError) bool {
	return pe.Reason == banklink.LoginInvalidCredentials || pe.Reason == banklink.LoginInvalidMFA
}

// tooManyAttempts answers once a session has had MaxLoginFailures.
func tooManyAttempts() error {
	return errText(banklink.ELOGIN, ReasonTooManyAttempts, "error."+ReasonTooManyAttempts)
}

type showingFormKey struct{}

// showingForm reports whether ctx is rendering the login form rather than
// submitting a login: a provider error there (it cannot start a login) is
// shown again at the submit, so only the submit feeds provider health.
func showingForm(ctx context.Context) bool {
	v, _ := ctx.Value(showingFormKey{}).(bool)
	return v
}

// accepted is optional less what the customer declined on the consent
// screen: a provider is never asked for a declined product (Plaid would
// show it on its own consent pane).
func accepted(optional []banklink.Product, s *banklink.ConnectSession) []banklink.Product {
	if s == nil || s.Consent == nil || len(s.Consent.Declined) == 0 {
		return optional
	}
	return slices.DeleteFunc(slices.Clone(optional), func(p banklink.Product) bool { return slices.Contains(s.Consent.Declined, p) })
}

// logoOrigin returns the origin of scope's app logo, "" without one.
func (w *Widget) logoOrigin(ctx context.Context, scope banklink.Scope) string {
	p, err := w.Store.FindAppProfile(ctx, scope)
	if err != nil {
		w.Log.Warn("app profile", slog.Any("err", err))
		return ""
	}
	u, err := url.Parse(p.LogoURL)
	if p.LogoURL == "" || err != nil || u.Scheme != "https" || !banklink.ValidURLHost(u.Host) {
		// Saved profiles are validated; this guards the CSP anyway.
		return ""
	}
	return "https://" + u.Host
}
