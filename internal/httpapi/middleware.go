package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"banklink"
	"banklink/internal/httpx"
	"banklink/internal/metrics"
	"banklink/internal/ratelimit"
)

// handlerFunc is an HTTP handler that returns its error; one adapter
// (Server.handle) writes the error, logs once and recovers panics.
type handlerFunc = httpx.HandlerFunc

type ctxKey int

const infoKey ctxKey = 0

// requestInfo travels with a request so the outermost middleware can log
// what the inner ones learned.
type requestInfo struct {
	id      string
	key     *banklink.APIKey
	version string
	status  int
	err     error
}

func infoFrom(ctx context.Context) *requestInfo {
	i, _ := ctx.Value(infoKey).(*requestInfo)
	return i
}

// RequestID returns the id of the request carrying ctx.
func RequestID(ctx context.Context) string { return requestIDFrom(ctx) }

func requestIDFrom(ctx context.Context) string {
	if i := infoFrom(ctx); i != nil {
		return i.id
	}
	return ""
}

// apiKeyFrom returns the authenticated key of a request that passed auth.
func apiKeyFrom(ctx context.Context) *banklink.APIKey {
	if i := infoFrom(ctx); i != nil {
		return i.key
	}
	return nil
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validRequestID accepts a caller's X-Request-ID only when it is short and
// plain, so it can be logged and echoed without escaping.
func validRequestID(s string) bool {
	if len(s) < 8 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

type statusWriter struct {
	http.ResponseWriter
	info *requestInfo
}

func (w *statusWriter) WriteHeader(code int) {
	if w.info.status == 0 {
		w.info.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.info.status == 0 {
		w.info.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe is the outermost middleware: request id, panic recovery and the
// one log line per request.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{id: r.Header.Get("X-Request-ID")}
		if !validRequestID(info.id) {
			info.id = newRequestID()
		}
		r = r.WithContext(banklink.WithRequestID(context.WithValue(r.Context(), infoKey, info), info.id))
		w.Header().Set("X-Request-ID", info.id)
		sw := &statusWriter{ResponseWriter: w, info: info}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.Log.Error("panic", slog.String("request_id", info.id), slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
				if info.status == 0 {
					s.writeError(sw, r, &banklink.Error{Code: banklink.EINTERNAL, Message: "Internal error.", Err: fmt.Errorf("panic: %v", p)})
				}
			}
			d := time.Since(start)
			s.logRequest(r, info, d)
			s.Metrics.ObserveRequest(r.Method, metricsRoute(r), info.status, d)
		}()
		next.ServeHTTP(sw, r)
	})
}

// metricsRoute is the route label of a request: its ServeMux pattern, or
// "unmatched" when only the catch-all 404 ("/") took it. Never the raw
// path, which would make one series per URL.
func metricsRoute(r *http.Request) string {
	if r.Pattern == "" || r.Pattern == "/" {
		return metrics.UnmatchedRoute
	}
	return r.Pattern
}

func (s *Server) logRequest(r *http.Request, info *requestInfo, d time.Duration) {
	attrs := []slog.Attr{
		slog.String("request_id", info.id),
		slog.String("method", r.Method),
		slog.String("route", r.Pattern),
		slog.Int("status", info.status),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
	}
	if info.key != nil {
		attrs = append(attrs, slog.String("account_id", info.key.AccountID), slog.String("api_key_id", info.key.ID))
	}
	level := slog.LevelInfo
	if info.status >= 500 {
		level = slog.LevelError
		if info.err != nil {
			attrs = append(attrs, slog.String("err", info.err.Error()))
		}
	} else if info.err != nil {
		attrs = append(attrs, slog.String("error_code", banklink.ErrorCode(info.err)))
	}
	s.Log.LogAttrs(r.Context(), level, "request", attrs...)
}

// handle adapts a handlerFunc: a returned error is written in the error
// format.
func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// authenticate requires "Authorization: BASIC <api key>". The scheme is
// case-insensitive, as in practice Meld's clients send "Basic" too. A
// standard HTTP Basic credential (base64 of "key:") is also understood, so
// `curl -u <key>:` works.
func (s *Server) authenticate(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		key, err := s.lookupKey(r)
		if err != nil {
			return err
		}
		infoFrom(r.Context()).key = key
		if ok, wait := s.limiter.Allow(key.ID, time.Now()); !ok {
			secs := ratelimit.RetryAfter(wait)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			return banklink.Errorf(banklink.ERATELIMITED, "Too many requests for this API key; retry after %d s.", secs)
		}
		return h(w, r)
	}
}

func (s *Server) lookupKey(r *http.Request) (*banklink.APIKey, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, banklink.Errorf(banklink.EUNAUTHORIZED, "Missing Authorization header; send \"Authorization: BASIC <api key>\".")
	}
	scheme, cred, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "basic") {
		return nil, banklink.Errorf(banklink.EUNAUTHORIZED, "Authorization scheme must be BASIC: send \"Authorization: BASIC <api key>\".")
	}
	cred = strings.TrimSpace(cred)
	env, id, secret, ok := banklink.ParseAPIKey(cred)
	if !ok {
		if dec, err := base64.StdEncoding.DecodeString(cred); err == nil {
			user, _, _ := strings.Cut(string(dec), ":")
			env, id, secret, ok = banklink.ParseAPIKey(user)
		}
	}
	invalid := banklink.Errorf(banklink.EUNAUTHORIZED, "Invalid API key; check the key and that you are calling the right banklink server.")
	if !ok {
		return nil, invalid
	}
	key, err := s.keys.find(r.Context(), s.Store, id, time.Now())
	if banklink.ErrorCode(err) == banklink.ENOTFOUND {
		return nil, invalid
	}
	if err != nil {
		return nil, err
	}
	if !key.Matches(secret) || key.Environment != env {
		return nil, invalid
	}
	if key.Revoked() {
		return nil, banklink.Errorf(banklink.EUNAUTHORIZED, "This API key was revoked on %s; create a new one.", key.RevokedAt.Format(time.DateOnly))
	}
	return key, nil
}

// Versions are the dates of the API versions banklink implements, oldest
// first. LatestVersion is pinned on new API keys.
var Versions = []string{"2022-09-21", "2022-11-10"}

// LatestVersion is the newest implemented API version.
var LatestVersion = Versions[len(Versions)-1]

// EndpointVersions is the one table of the versions each endpoint
// implements, oldest first: a request gets the newest one not after the
// version it asks for (or its key's), and Meld-Version echoes it. As
// recorded from Meld, connect/start answers 2022-11-10 and the financial
// accounts 2022-09-21 (their newest version; the singular connectionId
// is theirs). docs/api.md lists it.
var EndpointVersions = map[string][]string{
	"POST /bank-linking/connect/start":                         {"2022-11-10"},
	"POST /bank-linking/connect/repair":                        {"2022-11-10"},
	"GET /bank-linking/connections":                            Versions,
	"GET /bank-linking/connections/{id}":                       Versions,
	"DELETE /bank-linking/connections/{id}":                    Versions,
	"POST /bank-linking/connections/{id}/refresh":              Versions,
	"POST /bank-linking/connections/{id}/update":               Versions,
	"GET /bank-linking/accounts":                               {"2022-09-21"},
	"GET /bank-linking/accounts/{id}":                          {"2022-09-21"},
	"GET /bank-linking/transactions":                           Versions,
	"GET /bank-linking/transactions/{id}":                      Versions,
	"GET /bank-linking/investments/holdings":                   Versions,
	"GET /bank-linking/investments/holdings/{id}":              Versions,
	"GET /bank-linking/investments/transactions":               Versions,
	"GET /bank-linking/investments/transactions/{id}":          Versions,
	"POST /accounts/customers":                                 Versions,
	"GET /accounts/customers":                                  Versions,
	"DELETE /accounts/customers/{id}":                          Versions,
	"GET /institutions":                                        Versions,
	"GET /institutions/{id}":                                   Versions,
	"PUT /service-providers/{provider}":                        Versions,
	"GET /service-providers":                                   Versions,
	"DELETE /service-providers/{provider}":                     Versions,
	"GET /routing/rules":                                       Versions,
	"PUT /routing/rules":                                       Versions,
	"POST /webhooks/profiles":                                  Versions,
	"GET /webhooks/profiles":                                   Versions,
	"GET /webhooks/profiles/{id}":                              Versions,
	"PATCH /webhooks/profiles/{id}":                            Versions,
	"DELETE /webhooks/profiles/{id}":                           Versions,
	"POST /webhooks/profiles/{id}/rotate-secret":               Versions,
	"POST /webhooks/test":                                      Versions,
	"GET /webhooks/events":                                     Versions,
	"GET /webhooks/events/{id}":                                Versions,
	"POST /webhooks/events/{id}/redeliver":                     Versions,
	importPattern:                                              Versions,
	"GET /bank-linking/imports/{id}":                           Versions,
	createTokenPattern:                                         Versions,
	"POST /bank-linking/accounts/{id}/processors/revoke-token": Versions,
	"GET /activity-log":                                        Versions,
	"GET /bank-linking/app-profile":                            Versions,
	"PATCH /bank-linking/app-profile":                          Versions,
}

// versioned resolves the Meld-Version header against the versions an
// endpoint implements: the newest one not after the requested date, or the
// oldest when the request predates them all; without the header, the
// version pinned on the API key. The version applied is echoed back.
func (s *Server) versioned(endpointVersions []string, h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		requested := r.Header.Get("Meld-Version")
		if requested != "" {
			if _, err := time.Parse(time.DateOnly, requested); err != nil {
				w.Header().Set("Meld-Version", endpointVersions[len(endpointVersions)-1])
				return banklink.Errorf(banklink.EBADREQUEST, "Meld-Version header %q is not a date; use YYYY-MM-DD, for example %s.", truncate(requested, 32), LatestVersion)
			}
		} else if key := apiKeyFrom(r.Context()); key != nil && key.Version != "" {
			requested = key.Version
		} else {
			requested = LatestVersion
		}
		applied := endpointVersions[0]
		for _, v := range endpointVersions {
			if v <= requested { // ISO dates order as strings
				applied = v
			}
		}
		infoFrom(r.Context()).version = applied
		w.Header().Set("Meld-Version", applied)
		return h(w, r)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// methodNotAllowed answers a known path called with the wrong method.
func (s *Server) methodNotAllowed(methods []string) handlerFunc {
	allow := slices.Clone(methods)
	if slices.Contains(allow, http.MethodGet) && !slices.Contains(allow, http.MethodHead) {
		allow = append(allow, http.MethodHead)
	}
	slices.Sort(allow)
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return banklink.Errorf(banklink.EMETHOD, "Method %s is not allowed on %s; use %s.", r.Method, r.URL.Path, strings.Join(allow, " or "))
	}
}

// KeyCacheTTL bounds how long a replica trusts an API key record it has
// read: a key revoked elsewhere (another replica, the CLI) stops working
// within this time; one revoked through this process stops at once.
const KeyCacheTTL = 5 * time.Second

// keyCache keeps recently used API key records so that authentication
// costs no database read on the hot path.
type keyCache struct {
	mu sync.RWMutex
	m  map[string]cachedKey
}

type cachedKey struct {
	key *banklink.APIKey
	at  time.Time
}

const maxCachedKeys = 10000

func (c *keyCache) find(ctx context.Context, store banklink.APIKeyStore, id string, now time.Time) (*banklink.APIKey, error) {
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if ok && now.Sub(e.at) < KeyCacheTTL {
		return e.key, nil
	}
	k, err := store.FindAPIKeyByID(ctx, id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedKeys {
		c.m = map[string]cachedKey{}
	}
	c.m[id] = cachedKey{key: k, at: now}
	c.mu.Unlock()
	return k, nil
}

// ForgetAPIKey drops a key from this process's cache, so a revocation
// made here takes effect immediately.
func (s *Server) ForgetAPIKey(id string) {
	s.keys.mu.Lock()
	delete(s.keys.m, id)
	s.keys.mu.Unlock()
}
