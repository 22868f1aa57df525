// Package fakefinicity is a local Finicity (Mastercard Open Finance US)
// API for tests: an HTTP server answering the endpoints banklink's
// Finicity provider uses the way Finicity's spec describes them, with a
// fake Data Connect page.
//
// It checks what Finicity checks (the Finicity-App-Key header on every
// call, a Finicity-App-Token from the partner authentication on every
// other, tokens expiring after two hours, required fields), answers
// errors with Finicity's statuses and {"code", "message"} bodies, pages
// transactions (start is the first record, limit at most 1000) and
// institutions (start is the page), and signs the Connect webhooks it
// records (X-Finicity-Signature) with the partner secret.
//
// Every request to its API and every answer is held to Finicity's
// official spec by internal/contract: the fake fails the test that uses
// it where it drifts from the spec, and so does the adapter. (Connect
// webhooks are not in the spec; their bodies follow Finicity's Connect
// webhook documentation.)
package fakefinicity

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"banklink/internal/contract"
)

// Default credentials of a New server.
const (
	PartnerID     = "2445580000001"
	PartnerSecret = "fake-finicity-partner-secret-1"
	AppKey        = "fake-finicity-app-key"
)

// TokenLifetime is how long a token works ("valid for two hours").
const TokenLifetime = 2 * time.Hour

// ConnectLifetime is how long a Connect URL works (the spec's example
// links carry a ttl two hours after their timestamp).
const ConnectLifetime = 2 * time.Hour

// Passwords of the fake Data Connect: PasswordGood (FinBank's "go") adds
// the accounts; PasswordBad is refused in Connect (code 103, the customer
// may try again); PasswordUserAction adds them with aggregation status
// 108 (user action required at the institution).
const (
	PasswordGood       = "go"
	PasswordBad        = "bad"
	PasswordUserAction = "action"
)

// Server is a fake Finicity API.
type Server struct {
	// URL is the API's base URL (http://127.0.0.1:port); Data Connect
	// is served on it too, under /fake-connect.
	URL string
	// PartnerID, PartnerSecret and AppKey are the credentials it accepts.
	PartnerID, PartnerSecret, AppKey string

	srv      *httptest.Server
	contract *contract.Checker

	mu           sync.Mutex
	clock        func() time.Time
	offset       time.Duration
	tokens       map[string]time.Time
	customers    map[string]*Customer
	institutions []Institution
	connects     map[string]*connectRec
	sessions     map[string]*connectRec
	logins       map[string]*Login
	webhooks     []Webhook
	calls        map[string]int
	failures     []*Failure
	seq          int64
}

// Customer is an enrolled customer.
type Customer struct {
	ID, Username, Type string
	Created            time.Time
}

// New starts a fake Finicity with the default credentials and directory
// for the test; it stops when the test ends.
//
// Every request to its API and every answer is held to Finicity's
// official spec (internal/contract): a mismatch fails t when the test
// ends. Without the spec file t skips (fails under CI=true).
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{PartnerID: PartnerID, PartnerSecret: PartnerSecret, AppKey: AppKey, clock: time.Now, institutions: Directory(),
		tokens: map[string]time.Time{}, customers: map[string]*Customer{}, connects: map[string]*connectRec{}, sessions: map[string]*connectRec{},
		logins: map[string]*Login{}, calls: map[string]int{}, seq: 1005061000}
	mux := http.NewServeMux()
	api := func(pattern string, h func(w http.ResponseWriter, r *http.Request), token bool) {
		mux.HandleFunc(pattern, s.api(h, token))
	}
	api("POST /aggregation/v2/partners/authentication", s.authenticate, false)
	api("POST /aggregation/v2/customers/testing", s.addCustomer("testing"), true)
	api("POST /aggregation/v2/customers/active", s.addCustomer("active"), true)
	api("GET /aggregation/v1/customers", s.listCustomers, true)
	api("POST /connect/v2/generate/lite", s.generate(false), true)
	api("POST /connect/v2/generate/fix", s.generate(true), true)
	api("GET /aggregation/v1/customers/{customerId}/institutions/{institutionId}/accounts", s.institutionAccounts, true)
	api("GET /aggregation/v1/customers/{customerId}/institutionLogins/{institutionLoginId}/accounts", s.loginAccounts, true)
	api("POST /aggregation/v1/customers/{customerId}/institutionLogins/{institutionLoginId}/accounts", s.refresh, true)
	api("DELETE /aggregation/v1/customers/{customerId}/institutionLogins/{institutionLoginId}", s.deleteLogin, true)
	api("GET /aggregation/v3/customers/{customerId}/accounts/{accountId}/details", s.details, true)
	api("GET /aggregation/v3/customers/{customerId}/accounts/{accountId}/owner", s.owner, true)
	api("GET /aggregation/v4/customers/{customerId}/accounts/{accountId}/transactions", s.transactions, true)
	api("GET /institution/v2/institutions", s.listInstitutions, true)
	mux.HandleFunc("GET /fake-connect", s.connectPage)
	mux.HandleFunc("POST /fake-connect/{session}", s.connectSubmit)
	// Data Connect is Finicity's web page, not its API (a browser
	// showing it asks for the site's icon too).
	mux.HandleFunc("GET /favicon.ico", http.NotFound)
	s.srv, s.contract = contract.Finicity.Server(t, mux, contract.Options{Exempt: []string{"/fake-connect", "/favicon.ico"}})
	s.URL = s.srv.URL
	return s
}

// Contract returns the checker holding the fake to Finicity's spec.
func (s *Server) Contract() *contract.Checker { return s.contract }

// Now is the fake's clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Server) now() time.Time { return s.clock().Add(s.offset).UTC() }

// Advance moves the clock forward (tokens expire, logins age).
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

// RevokeTokens makes every token issued so far invalid, as if they had
// expired.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// Failure is an answer the fake gives instead of serving a request.
type Failure struct {
	// Method and Path select requests: the method and the route
	// pattern's path ("/institution/v2/institutions").
	Method, Path string
	// Status, Code and Message are the answer; RetryAfter its header.
	Status        int
	Code, Message string
	RetryAfter    string
	// Times is how many requests fail (at least one).
	Times int
}

// Fail makes the next matching requests fail.
func (s *Server) Fail(f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.Times = max(1, f.Times)
	s.failures = append(s.failures, &f)
}

// Calls returns how many requests matched the route (method and path
// pattern, e.g. "POST /aggregation/v2/partners/authentication").
func (s *Server) Calls(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[route]
}

func randomToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) nextID() int64 {
	s.seq++
	return s.seq
}

// api wraps an API handler with Finicity's checks: the app key (401
// otherwise), with token a valid Finicity-App-Token (401, code 10022
// "Invalid (Finicity-App-Token)" or 10023 "Expired"), JSON bodies on POST
// and PUT, injected failures and the call counters.
func (s *Server) api(h func(w http.ResponseWriter, r *http.Request), token bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimPrefix(r.Pattern, r.Method+" ")
		s.mu.Lock()
		s.calls[r.Pattern]++
		s.mu.Unlock()
		if r.Header.Get("Finicity-App-Key") != s.AppKey {
			writeError(w, http.StatusUnauthorized, "10001", "Invalid (Finicity-App-Key)")
			return
		}
		if token {
			s.mu.Lock()
			issued, ok := s.tokens[r.Header.Get("Finicity-App-Token")]
			expired := ok && s.now().Sub(issued) >= TokenLifetime
			s.mu.Unlock()
			switch {
			case !ok:
				writeError(w, http.StatusUnauthorized, "10022", "Invalid (Finicity-App-Token)")
				return
			case expired:
				writeError(w, http.StatusUnauthorized, "10023", "Expired (Finicity-App-Token)")
				return
			}
		}
		if (r.Method == http.MethodPost || r.Method == http.MethodPut) && r.ContentLength > 0 &&
			!strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			writeError(w, http.StatusUnsupportedMediaType, "10000", "Content-Type must be application/json.")
			return
		}
		s.mu.Lock()
		var fail *Failure
		for i, f := range s.failures {
			if f.Method == r.Method && f.Path == path {
				fail = f
				if f.Times--; f.Times == 0 {
					s.failures = slices.Delete(s.failures, i, i+1)
				}
				break
			}
		}
		s.mu.Unlock()
		if fail != nil {
			if fail.RetryAfter != "" {
				w.Header().Set("Retry-After", fail.RetryAfter)
			}
			writeError(w, fail.Status, fail.Code, fail.Message)
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeError answers the spec's ErrorMessage.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	if code == "" {
		code = strconv.Itoa(status)
	}
	writeJSON(w, status, map[string]string{"code": code, "message": msg})
}

// decode reads a JSON request body.
func decode(r *http.Request, dst any) error {
	defer r.Body.Close()
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(dst); err != nil {
		return fmt.Errorf("the request body is not valid JSON: %v", err)
	}
	return nil
}

// authenticate is POST /aggregation/v2/partners/authentication.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		PartnerID     string `json:"partnerId"`
		PartnerSecret string `json:"partnerSecret"`
	}
	if err := decode(r, &body); err != nil {
		writeError(w, http.StatusBadRequest, "10005", err.Error())
		return
	}
	if body.PartnerID != s.PartnerID || body.PartnerSecret != s.PartnerSecret {
		writeError(w, http.StatusUnauthorized, "10001", "Invalid credentials")
		return
	}
	s.mu.Lock()
	tok := randomToken()
	s.tokens[tok] = s.now()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"token": tok})
}

// addCustomer is POST /aggregation/v2/customers/{testing,active}: a
// username is unique per partner (409 otherwise).
func (s *Server) addCustomer(typ string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Username string `json:"username"`
		}
		if err := decode(r, &body); err != nil {
			writeError(w, http.StatusBadRequest, "10005", err.Error())
			return
		}
		if n := len(body.Username); n < 6 || n > 255 {
			writeError(w, http.StatusBadRequest, "11000", "The username must be 6 to 255 characters.")
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.customers {
			if c.Username == body.Username {
				writeError(w, http.StatusConflict, "11000", "A customer with this username already exists.")
				return
			}
		}
		c := &Customer{ID: strconv.FormatInt(s.nextID(), 10), Username: body.Username, Type: typ, Created: s.now()}
		s.customers[c.ID] = c
		writeJSON(w, http.StatusCreated, map[string]any{"id": c.ID, "username": c.Username, "createdDate": c.Created.Unix()})
	}
}

// listCustomers is GET /aggregation/v1/customers (username filters).
func (s *Server) listCustomers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := []map[string]any{}
	for _, c := range s.customers {
		if u := r.URL.Query().Get("username"); u != "" && c.Username != u {
			continue
		}
		list = append(list, map[string]any{"id": c.ID, "username": c.Username, "type": c.Type, "createdDate": strconv.FormatInt(c.Created.Unix(), 10)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"found": len(list), "displaying": len(list), "moreAvailable": false, "customers": list})
}

// Customer returns the customer enrolled with the username.
func (s *Server) Customer(username string) (Customer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.customers {
		if c.Username == username {
			return *c, true
		}
	}
	return Customer{}, false
}

// Institution is one of the fake's institutions.
type Institution struct {
	ID                                 int64
	Name, URL, Status, AccountTypeDesc string
	ACH, Owner, OAuth, TransAgg        bool
}

// FinBankID is "FinBank Profiles - A", Finicity's test institution
// (Meld's recorded connections come from it).
const FinBankID = 102105

// Directory is the fake's institution list: FinBank, a bank Plaid's fake
// also serves (Chase, for routing), one in maintenance and one without
// aggregation.
func Directory() []Institution {
	return []Institution{
		{ID: FinBankID, Name: "FinBank Profiles - A", URL: "https://www.finicity.com", Status: "testing", AccountTypeDesc: "Banking/Investments", ACH: true, Owner: true, TransAgg: true},
		{ID: 4222, Name: "Chase", URL: "https://www.chase.com", Status: "online", AccountTypeDesc: "Banking/Investments", ACH: true, Owner: true, OAuth: true, TransAgg: true},
		{ID: 101732, Name: "FinBank Down", URL: "https://down.finbank.example", Status: "maintenance", AccountTypeDesc: "Banking", TransAgg: true},
		{ID: 5000, Name: "Statements Only Bank", URL: "https://statements.example", Status: "online", AccountTypeDesc: "Banking"},
	}
}

// SetInstitutions replaces the directory.
func (s *Server) SetInstitutions(list []Institution) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.institutions = list
}

func (s *Server) institution(id int64) (Institution, bool) {
	for _, in := range s.institutions {
		if in.ID == id {
			return in, true
		}
	}
	return Institution{}, false
}

// listInstitutions is GET /institution/v2/institutions: start is the
// page (1-based), limit its size (25 by default, at most 1000).
func (s *Server) listInstitutions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start, limit := 1, 25
	if v, err := strconv.Atoi(q.Get("start")); err == nil && v > 1 {
		start = v
	}
	if v, err := strconv.Atoi(q.Get("limit")); err == nil && v >= 1 && v <= 1000 {
		limit = v
	}
	s.mu.Lock()
	list := slices.Clone(s.institutions)
	now := s.now()
	s.mu.Unlock()
	from := min(len(list), (start-1)*limit)
	to := min(len(list), from+limit)
	page := []map[string]any{}
	for _, in := range list[from:to] {
		page = append(page, map[string]any{"id": in.ID, "name": in.Name, "transAgg": in.TransAgg, "ach": in.ACH, "stateAgg": true,
			"voi": false, "voa": true, "aha": false, "availBalance": true, "accountOwner": in.Owner, "oauthEnabled": in.OAuth,
			"currency": "USD", "status": in.Status, "urlHomeApp": in.URL, "accountTypeDescription": in.AccountTypeDesc,
			"address": map[string]string{"country": "USA"}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"found": len(list), "displaying": len(page), "moreAvailable": to < len(list),
		"createdDate": now.Unix(), "institutions": page})
}
