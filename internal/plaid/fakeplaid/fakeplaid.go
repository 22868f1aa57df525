// Package fakeplaid is a local HTTP server that speaks Plaid's API, for
// tests of banklink's Plaid provider without the network.
//
// It follows Plaid's published API: JSON POSTs authenticated with client_id
// and secret in the body, Plaid's error object {error_type, error_code,
// error_message, display_message, request_id} with Plaid's HTTP statuses,
// unknown request fields refused (UNKNOWN_FIELDS) and required ones
// checked (MISSING_FIELDS). It serves Link tokens with a Hosted Link page
// that completes the session and redirects to hosted_link.
// completion_redirect_uri (the public token is read back with
// /link/token/get, as with Plaid), public token exchange, accounts,
// balances, Auth, Identity, /transactions/sync with cursors,
// processor and Stripe bank account tokens, Item webhook updates,
// investments with offset pagination, Item removal, the institution
// directory, and webhooks signed with a real ES256 key whose public half
// /webhook_verification_key/get serves. Link runs in update mode too (a
// Link token created with an Item's access_token and no products): the
// Hosted Link page then fixes that Item's login. LinkTokenRequests lists
// the Link tokens created.
//
// Every request to it, every answer and every webhook it sends is held to
// Plaid's official API spec by internal/contract: the fake fails the test
// that uses it where it drifts from Plaid, and so does the adapter.
//
// Tests script it: failures on the next call to an endpoint (FailNext),
// an Item entering an error state such as ITEM_LOGIN_REQUIRED
// (SetItemError, or /sandbox/item/reset_login as in Plaid's Sandbox),
// transactions not ready yet, data changing during pagination, smaller
// pages.
package fakeplaid

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"banklink/internal/contract"
)

// Default API keys.
const (
	ClientID = "fake-client-id"
	Secret   = "fake-secret"
)

// Server is a fake Plaid.
type Server struct {
	// URL is the base URL to configure as the Plaid host.
	URL string
	// ClientID and Secret are the accepted API keys.
	ClientID, Secret string
	// Now is the clock (iat of webhooks, expirations, data dates).
	Now func() time.Time
	// SyncPageLimit, InvestmentsPageLimit and InstitutionsPageLimit, when
	// positive, cap pages below the count asked for, as Plaid may.
	SyncPageLimit, InvestmentsPageLimit, InstitutionsPageLimit int

	srv      *httptest.Server
	contract *contract.Checker

	mu           sync.Mutex
	seq          int
	institutions []*Institution
	linkTokens   map[string]*linkToken
	linkTokenLog []*linkToken
	hosted       map[string]*linkToken
	publicTokens map[string]*publicToken
	items        map[string]*Item
	byToken      map[string]*Item
	keys         []*signingKey
	failNext     map[string][]string
	calls        map[string]int
	latency      map[string]time.Duration
	rateLimits   map[string]int
	hits         map[string][]time.Time
	deliveries   []Delivery
	outbox       []outgoing
	// processorTokens are the processor and Stripe tokens handed out.
	processorTokens []ProcessorToken
}

// New starts a fake Plaid for the test; it stops when the test ends.
//
// Every request to it, every answer and every webhook it sends is held to
// Plaid's official API spec (internal/contract): a mismatch fails t when
// the test ends. Without the spec file t skips (fails under CI=true).
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{ClientID: ClientID, Secret: Secret, Now: time.Now,
		institutions: DefaultInstitutions(), linkTokens: map[string]*linkToken{}, hosted: map[string]*linkToken{},
		publicTokens: map[string]*publicToken{}, items: map[string]*Item{}, byToken: map[string]*Item{},
		failNext: map[string][]string{}, calls: map[string]int{}, latency: map[string]time.Duration{},
		rateLimits: map[string]int{}, hits: map[string][]time.Time{}}
	s.keys = []*signingKey{newSigningKey(s.id("key"))}
	mux := http.NewServeMux()
	for path, h := range map[string]handler{
		"/link/token/create":            s.linkTokenCreate,
		"/link/token/get":               s.linkTokenGet,
		"/item/public_token/exchange":   s.exchange,
		"/item/remove":                  s.itemRemove,
		"/item/get":                     s.itemGet,
		"/accounts/get":                 s.accountsGet,
		"/accounts/balance/get":         s.balanceGet,
		"/auth/get":                     s.authGet,
		"/identity/get":                 s.identityGet,
		"/transactions/sync":            s.transactionsSync,
		"/investments/holdings/get":     s.holdingsGet,
		"/investments/transactions/get": s.investmentTransactionsGet,
		"/institutions/get":             s.institutionsGet,
		"/institutions/get_by_id":       s.institutionsGetByID,
		"/webhook_verification_key/get": s.verificationKeyGet,
		"/sandbox/item/reset_login":     s.resetLogin,
		"/sandbox/item/fire_webhook":    s.fireWebhookEndpoint,
		"/item/webhook/update":          s.itemWebhookUpdate,
		"/processor/token/create":       s.processorTokenCreate,
	} {
		mux.HandleFunc("POST "+path, s.api(path, h))
	}
	// Apart from the table, whose alignment its long path would change.
	mux.HandleFunc("POST /processor/stripe/bank_account_token/create", s.api("/processor/stripe/bank_account_token/create", s.stripeTokenCreate))
	mux.HandleFunc("GET /hl/{id}", s.hostedLinkPage)
	// The Hosted Link page is Plaid's web page, not its API.
	s.srv, s.contract = contract.Plaid.Server(t, mux, contract.Options{Exempt: []string{"/hl/"}})
	s.URL = s.srv.URL
	return s
}

// Contract returns the checker holding the fake to Plaid's spec.
func (s *Server) Contract() *contract.Checker { return s.contract }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Institutions returns the fake directory (the server's own values).
func (s *Server) Institutions() []*Institution {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Institution(nil), s.institutions...)
}

// SetInstitutions replaces the fake directory.
func (s *Server) SetInstitutions(list []*Institution) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.institutions = list
}

// FailNext makes the next call to path fail with the Plaid error code
// (for example RATE_LIMIT_EXCEEDED's TRANSACTIONS_SYNC_LIMIT, or
// INSTITUTION_DOWN). Calls queue up.
func (s *Server) FailNext(path, code string) {
	if _, ok := catalog[code]; !ok {
		panic("fakeplaid: unknown error code " + code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext[path] = append(s.failNext[path], code)
}

// SetLatency makes every answer of path ("" for every endpoint without a
// latency of its own) take at least d, as Plaid's slower endpoints do:
// /accounts/balance/get "typically less than 10 seconds, but occasionally
// up to 30 seconds or more", /investments/transactions/get right after
// Link "up to one to two minutes". None by default.
func (s *Server) SetLatency(path string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency[path] = d
}

// Calls counts the requests made to path.
func (s *Server) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// Item returns the Item (the server's own value; lock-free reading is
// fine between requests).
func (s *Server) Item(itemID string) *Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.items[itemID]
}

// Items lists the Items in creation order.
func (s *Server) Items() []*Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Item
	for _, it := range s.items {
		out = append(out, it)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].seq < out[j-1].seq; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// SetItemError puts an Item in an error state: every product call on it
// fails with code (ITEM_LOGIN_REQUIRED, ...) until cleared with "".
func (s *Server) SetItemError(itemID, code string) {
	if _, ok := catalog[code]; code != "" && !ok {
		panic("fakeplaid: unknown error code " + code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if it := s.items[itemID]; it != nil {
		it.Error = code
	}
}

// Mutate runs f on an Item under the server's lock, for tests that change
// its data; Item.AddTransaction, RemoveTransaction and Post record what
// /transactions/sync then reports.
func (s *Server) Mutate(itemID string, f func(*Item)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it := s.items[itemID]; it != nil {
		f(it)
	}
}

func (s *Server) id(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s-%06d", prefix, s.seq)
}

// errDef is a catalogued Plaid error.
type errDef struct {
	typ     string
	status  int
	message string
	display string
}

// catalog lists the errors the fake answers with, by code, with Plaid's
// types and HTTP statuses.
var catalog = map[string]errDef{
	// Item errors.
	"ITEM_LOGIN_REQUIRED":    {"ITEM_ERROR", 400, "the login details of this item have changed (credentials, MFA, or required user action) and a user login is required to update this information. use Link's update mode to restore the item to a good state", ""},
	"INVALID_CREDENTIALS":    {"ITEM_ERROR", 400, "the provided credentials were not correct", "The provided credentials were not correct. Please try again."},
	"INVALID_MFA":            {"ITEM_ERROR", 400, "the provided MFA response(s) were not correct", "The provided MFA responses were not correct. Please try again."},
	"ITEM_LOCKED":            {"ITEM_ERROR", 400, "the account is locked. prompt the user to visit the institution's site and unlock their account", "The financial institution indicated that your account is locked. Please visit your financial institution's website to unlock your account."},
	"USER_SETUP_REQUIRED":    {"ITEM_ERROR", 400, "the account has not been fully set up. prompt the user to visit the issuing institution's site and finish the setup process", "The given account requires additional setup with the financial institution."},
	"NO_ACCOUNTS":            {"ITEM_ERROR", 400, "no valid accounts were found for this item", "No valid accounts were found at the financial institution. Please visit your financial institution's website to confirm accounts are available."},
	"ACCESS_NOT_GRANTED":     {"ITEM_ERROR", 400, "access to this product was not granted by the user", "Access to this product was not granted by the user."},
	"PRODUCT_NOT_READY":      {"ITEM_ERROR", 400, "the requested product is not yet ready. please provide a webhook or try the request again later", ""},
	"PRODUCTS_NOT_SUPPORTED": {"ITEM_ERROR", 400, "the following products are not supported by this institution", ""},
	"NO_AUTH_ACCOUNTS":       {"ITEM_ERROR", 400, "There are no valid checking or savings account(s) associated with this Item.", "No valid checking or savings account(s) were found."},
	"NO_INVESTMENT_ACCOUNTS": {"ITEM_ERROR", 400, "There are no investment account(s) associated with this Item.", "No investment accounts were found."},
	"ITEM_NOT_FOUND":         {"ITEM_ERROR", 400, "the Item you requested cannot be found. This Item does not exist, has been previously removed via /item/remove, or has had access removed by the user", ""},
	// Institution errors.
	"INSTITUTION_DOWN":                {"INSTITUTION_ERROR", 400, "this institution is not currently responding to this request. please try again soon", "This financial institution is not currently responding to requests. We apologize for the inconvenience."},
	"INSTITUTION_NOT_RESPONDING":      {"INSTITUTION_ERROR", 400, "this institution is not currently responding to this request. please try again soon", "This financial institution is not currently responding to requests. We apologize for the inconvenience."},
	"INSTITUTION_NOT_AVAILABLE":       {"INSTITUTION_ERROR", 400, "this institution is not currently responding to this request. please try again soon", "This financial institution is not currently responding to requests. We apologize for the inconvenience."},
	"INSTITUTION_NO_LONGER_SUPPORTED": {"INSTITUTION_ERROR", 400, "this institution is no longer supported", "This financial institution is no longer supported."},
	// Rate limits.
	"RATE_LIMIT":                    {"RATE_LIMIT_EXCEEDED", 429, "rate limit exceeded for attempts to access this item. please try again later", ""},
	"BALANCE_LIMIT":                 {"RATE_LIMIT_EXCEEDED", 429, "rate limit exceeded for attempts to access balance for this item. please try again later", ""},
	"TRANSACTIONS_SYNC_LIMIT":       {"RATE_LIMIT_EXCEEDED", 429, "rate limit exceeded for attempts to access transactions for this item. please try again later", ""},
	"ACCOUNTS_LIMIT":                {"RATE_LIMIT_EXCEEDED", 429, "rate limit exceeded for attempts to access accounts for this item. please try again later", ""},
	"AUTH_LIMIT":                    {"RATE_LIMIT_EXCEEDED", 429, "rate limit exceeded for attempts to access auth for this item. please try again later", ""},
	"IDENTITY_LIMIT":                {"RATE_LIMIT_EXCEEDED", 429, "rate limit exceeded for attempts to access identity for this item. please try again later", ""},
	"INVESTMENT_HOLDINGS_GET_LIMIT": {"RATE_LIMIT_EXCEEDED", 429, "rate limit exceeded for attempts to access holdings for this item. please try again later", ""},
	"INVESTMENT_TRANSACTIONS_LIMIT": {"RATE_LIMIT_EXCEEDED", 429, "rate limit exceeded for attempts to access investment transactions for this item. please try again later", ""},
	"INSTITUTIONS_GET_LIMIT":        {"RATE_LIMIT_EXCEEDED", 429, "rate limit exceeded for attempts to access the institutions list. please try again later", ""},
	"INSTITUTIONS_GET_BY_ID_LIMIT":  {"RATE_LIMIT_EXCEEDED", 429, "rate limit exceeded for attempts to access an institution. please try again later", ""},
	"ITEM_GET_LIMIT":                {"RATE_LIMIT_EXCEEDED", 429, "rate limit exceeded for attempts to access this item. please try again later", ""},
	// API errors.
	"INTERNAL_SERVER_ERROR": {"API_ERROR", 500, "an unexpected error occurred", "Something went wrong. Please try again later."},
	"PLANNED_MAINTENANCE":   {"API_ERROR", 503, "the Plaid API is temporarily unavailable due to planned maintenance. visit https://status.plaid.com/ for more information", ""},
	// Transactions.
	"TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION": {"TRANSACTIONS_ERROR", 400, "Underlying transaction data changed since last page was fetched. Please restart pagination from last update.", ""},
	// Invalid input.
	"INVALID_API_KEYS":                    {"INVALID_INPUT", 400, "invalid client_id or secret provided", ""},
	"INVALID_ACCESS_TOKEN":                {"INVALID_INPUT", 400, "could not find matching access token", ""},
	"INVALID_PUBLIC_TOKEN":                {"INVALID_INPUT", 400, "could not find matching public token", ""},
	"INVALID_LINK_TOKEN":                  {"INVALID_INPUT", 400, "link token is invalid or expired", ""},
	"INVALID_ACCOUNT_ID":                  {"INVALID_INPUT", 400, "one or more of the account IDs is invalid", ""},
	"INVALID_INSTITUTION":                 {"INVALID_INPUT", 400, "invalid institution_id provided", ""},
	"INVALID_WEBHOOK_VERIFICATION_KEY_ID": {"INVALID_INPUT", 400, "invalid key_id provided", ""},
	// Invalid requests.
	"MISSING_FIELDS": {"INVALID_REQUEST", 400, "the following required fields are missing", ""},
	"UNKNOWN_FIELDS": {"INVALID_REQUEST", 400, "the following fields are not recognized by this endpoint", ""},
	"INVALID_FIELD":  {"INVALID_REQUEST", 400, "one or more of the request fields is invalid", ""},
	"INVALID_BODY":   {"INVALID_REQUEST", 400, "body could not be parsed as JSON", ""},
	// Invalid results.
	"LAST_UPDATED_DATETIME_OUT_OF_RANGE": {"INVALID_RESULT", 400, "requested datetime out of range, most recently updated balance is older than the given datetime", ""},
}

// apiError is an error answer.
type apiError struct {
	code, detail string
}

func (e *apiError) Error() string { return e.code + ": " + e.detail }

func fail(code string, detailf string, args ...any) error {
	return &apiError{code: code, detail: fmt.Sprintf(detailf, args...)}
}

// handler answers one endpoint; body is the request body, already
// authenticated.
type handler func(r *http.Request, body []byte) (any, error)

// auth is in every request.
type auth struct {
	ClientID *string `json:"client_id"`
	Secret   *string `json:"secret"`
}

func (s *Server) api(path string, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		reqID := s.requestID()
		s.mu.Lock()
		s.calls[path]++
		var scripted string
		if q := s.failNext[path]; len(q) > 0 {
			scripted, s.failNext[path] = q[0], q[1:]
		}
		delay, ok := s.latency[path]
		if !ok {
			delay = s.latency[""]
		}
		s.mu.Unlock()
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-r.Context().Done():
				// The client gave up: it reads no answer.
				t.Stop()
				return
			case <-t.C:
			}
		}
		out, err := s.serve(r, path, h, scripted)
		// Webhooks the call caused go out once the lock is released.
		s.flushWebhooks()
		if err != nil {
			writeError(w, err, reqID)
			return
		}
		b, _ := json.Marshal(out)
		// Every answer carries a request_id.
		var m map[string]any
		if json.Unmarshal(b, &m) == nil {
			m["request_id"] = reqID
			b, _ = json.Marshal(m)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}
}

func (s *Server) serve(r *http.Request, path string, h handler, scripted string) (any, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return nil, fail("INVALID_BODY", "content-type must be application/json")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, fail("INVALID_BODY", "%v", err)
	}
	var a auth
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fail("INVALID_BODY", "body could not be parsed as JSON")
	}
	var missing []string
	if a.ClientID == nil || *a.ClientID == "" {
		missing = append(missing, "client_id")
	}
	if a.Secret == nil || *a.Secret == "" {
		missing = append(missing, "secret")
	}
	if len(missing) > 0 {
		return nil, fail("MISSING_FIELDS", "%s", strings.Join(missing, ", "))
	}
	if *a.ClientID != s.ClientID || *a.Secret != s.Secret {
		return nil, fail("INVALID_API_KEYS", "")
	}
	if scripted != "" {
		return nil, fail(scripted, "scripted failure")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.limit(path, *a.ClientID, body); err != nil {
		return nil, err
	}
	return h(r, body)
}

// rateLimitCodes are the error codes of Plaid's per-endpoint rate limits
// (Plaid's RATE_LIMIT_EXCEEDED errors); other endpoints answer
// RATE_LIMIT.
var rateLimitCodes = map[string]string{
	"/accounts/get":                 "ACCOUNTS_LIMIT",
	"/accounts/balance/get":         "BALANCE_LIMIT",
	"/auth/get":                     "AUTH_LIMIT",
	"/identity/get":                 "IDENTITY_LIMIT",
	"/transactions/sync":            "TRANSACTIONS_SYNC_LIMIT",
	"/investments/holdings/get":     "INVESTMENT_HOLDINGS_GET_LIMIT",
	"/investments/transactions/get": "INVESTMENT_TRANSACTIONS_LIMIT",
	"/institutions/get":             "INSTITUTIONS_GET_LIMIT",
	"/institutions/get_by_id":       "INSTITUTIONS_GET_BY_ID_LIMIT",
	"/item/get":                     "ITEM_GET_LIMIT",
}

// SetRateLimit limits path to perMinute requests a minute (of the fake's
// clock) per Item, or per client for calls without an access_token;
// beyond it Plaid's 429 answers, RATE_LIMIT_EXCEEDED with the endpoint's
// code. Zero removes the limit; there is none by default.
func (s *Server) SetRateLimit(path string, perMinute int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimits[path] = perMinute
}

// limit counts a request to path against its rate limit (under s.mu).
func (s *Server) limit(path, clientID string, body []byte) error {
	n := s.rateLimits[path]
	if n <= 0 {
		return nil
	}
	var who struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(body, &who)
	key := path + "\x00" + clientID + "\x00" + who.AccessToken
	now := s.Now()
	recent := s.hits[key][:0]
	for _, at := range s.hits[key] {
		if now.Sub(at) < time.Minute {
			recent = append(recent, at)
		}
	}
	if len(recent) >= n {
		s.hits[key] = recent
		code, ok := rateLimitCodes[path]
		if !ok {
			code = "RATE_LIMIT"
		}
		return fail(code, "")
	}
	s.hits[key] = append(recent, now)
	return nil
}

func (s *Server) requestID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id("req")
}

func writeError(w http.ResponseWriter, err error, reqID string) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{code: "INTERNAL_SERVER_ERROR", detail: err.Error()}
	}
	def := catalog[ae.code]
	msg := def.message
	if ae.detail != "" && ae.detail != "scripted failure" {
		msg += ": " + ae.detail
	}
	body := map[string]any{"error_type": def.typ, "error_code": ae.code, "error_message": msg, "display_message": nil,
		"request_id": reqID, "causes": []any{}, "status": def.status, "documentation_url": "https://plaid.com/docs/errors/", "suggested_action": nil}
	if def.display != "" {
		body["display_message"] = def.display
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(def.status)
	json.NewEncoder(w).Encode(body)
}

// decode reads body strictly into v (which embeds auth): unknown fields
// are refused as Plaid does.
func decode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return fail("UNKNOWN_FIELDS", "%s", strings.Trim(f, `"`))
		}
		return fail("INVALID_FIELD", "%v", err)
	}
	return nil
}

// required fails with MISSING_FIELDS naming the empty fields.
func required(fields ...any) error {
	var missing []string
	for i := 0; i+1 < len(fields); i += 2 {
		name := fields[i].(string)
		switch v := fields[i+1].(type) {
		case string:
			if v == "" {
				missing = append(missing, name)
			}
		case []string:
			if len(v) == 0 {
				missing = append(missing, name)
			}
		case bool:
			if !v {
				missing = append(missing, name)
			}
		}
	}
	if len(missing) > 0 {
		return fail("MISSING_FIELDS", "%s", strings.Join(missing, ", "))
	}
	return nil
}
