// Package fakemx is a local MX Platform API for tests: an HTTP server that
// answers the endpoints banklink's MX provider uses the way MX's API
// reference (github.com/mxenabled/openapi, openapi/v20111101.yml) and
// guides describe them, with a fake MX Connect Widget page.
//
// It checks what MX checks (Basic auth with client_id:api_key, the
// "Accept: application/vnd.mx.api.v1+json" header, required fields),
// answers errors with MX's status codes and an {"error": {"message": …}}
// body, pages lists (page, records_per_page 10 to 100 for institutions
// and 10 to 1000 for the rest, pagination), and
// aggregates members on request, declining an aggregation within
// MinAggregationInterval of the last one with 202 Accepted as MX does.
//
// Every request to its API and every answer is held to MX's official spec
// by internal/contract: the fake fails the test that uses it where it
// drifts from MX, and so does the adapter.
//
// Tests drive it with a clock (Advance, SetClock), scripted member
// statuses (SetMemberStatus, SetNextAggregation, SetAggregationPolls),
// injected failures (Fail) and read back what it served (Accounts,
// Transactions …). Where MX's documentation is silent, comments say what
// the fake chose.
package fakemx

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
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
	ClientID = "fake-mx-client-id"
	APIKey   = "fake-mx-api-key"
)

// MediaType is the only Accept value the fake serves.
const MediaType = "application/vnd.mx.api.v1+json"

// MinAggregationInterval is the fake's minimum time between two standard
// aggregations of a member.
const MinAggregationInterval = 3 * time.Hour

// WidgetURLLifetime is how long a widget URL works ("expires after ten
// minutes or upon first use").
const WidgetURLLifetime = 10 * time.Minute

// Server is a fake MX Platform API.
type Server struct {
	// URL is the API's base URL (http://127.0.0.1:port).
	URL string
	// ClientID and APIKey are the credentials it accepts.
	ClientID, APIKey string

	srv      *httptest.Server
	contract *contract.Checker

	mu           sync.Mutex
	clock        func() time.Time
	offset       time.Duration
	polls        int
	institutions []Institution
	users        map[string]*userRec // by guid
	members      map[string]*memberRec
	widgets      map[string]*widgetRec  // by token
	sessions     map[string]*sessionRec // connect page sessions
	calls        map[string]int
	failures     []*Failure
	seq          int
	codes        []AuthorizationCode
}

// New starts a fake MX with the default credentials and directory for the
// test; it stops when the test ends (Close stops it earlier).
//
// Every request to its API and every answer is held to MX's official
// Platform API spec (internal/contract): a mismatch fails t when the test
// ends. Without the spec file t skips (fails under CI=true).
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{ClientID: ClientID, APIKey: APIKey, clock: time.Now, institutions: Directory(),
		users: map[string]*userRec{}, members: map[string]*memberRec{}, widgets: map[string]*widgetRec{},
		sessions: map[string]*sessionRec{}, calls: map[string]int{}}
	mux := http.NewServeMux()
	api := func(pattern string, h func(w http.ResponseWriter, r *http.Request)) {
		mux.HandleFunc(pattern, s.api(h))
	}
	api("POST /users", s.createUser)
	api("GET /users", s.listUsers)
	api("POST /users/{user_guid}/widget_urls", s.widgetURL)
	api("GET /users/{user_guid}/members", s.listMembers)
	api("GET /users/{user_guid}/members/{member_guid}", s.readMember)
	api("DELETE /users/{user_guid}/members/{member_guid}", s.deleteMember)
	api("GET /users/{user_guid}/members/{member_guid}/status", s.memberStatus)
	api("POST /users/{user_guid}/members/{member_guid}/aggregate", s.aggregate)
	api("GET /users/{user_guid}/members/{member_guid}/accounts", s.listAccounts)
	api("GET /users/{user_guid}/members/{member_guid}/account_numbers", s.listAccountNumbers)
	api("GET /users/{user_guid}/members/{member_guid}/account_owners", s.listAccountOwners)
	api("GET /users/{user_guid}/members/{member_guid}/transactions", s.listTransactions)
	api("GET /users/{user_guid}/members/{member_guid}/investment_holdings", s.listHoldings)
	api("GET /institutions", s.listInstitutions)
	api("POST /authorization_code", s.authorizationCode)
	mux.HandleFunc("GET /connect/{token}", s.connectPage)
	mux.HandleFunc("POST /connect/session/{session}", s.connectSubmit)
	// MX Connect is MX's web page, not its Platform API.
	s.srv, s.contract = contract.MX.Server(t, mux, contract.Options{Exempt: []string{"/connect/"}})
	s.URL = s.srv.URL
	return s
}

// Contract returns the checker holding the fake to MX's spec.
func (s *Server) Contract() *contract.Checker { return s.contract }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Now is the fake's clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Server) now() time.Time { return s.clock().Add(s.offset).UTC() }

// SetClock replaces the clock (time.Now by default).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = now
}

// Advance moves the clock forward.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

// SetAggregationPolls sets for how many status reads an aggregation runs
// (0, the default: it finishes at once). It applies to aggregations
// started later, the Connect Widget's included.
func (s *Server) SetAggregationPolls(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.polls = n
}

// Failure is an answer the fake gives instead of serving a request.
type Failure struct {
	// Method and Path select requests: the method and the route pattern's
	// path ("/users/{user_guid}/members/{member_guid}/aggregate").
	Method, Path string
	// Status, Message and RetryAfter are the answer.
	Status     int
	Message    string
	RetryAfter string
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
// pattern, e.g. "POST /users/{user_guid}/members/{member_guid}/aggregate").
func (s *Server) Calls(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[route]
}

// newGUID returns a fresh guid with MX's prefix (USR-, MBR-, ACT- …),
// derived from parts so that a run is reproducible.
func newGUID(prefix string, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	h := hex.EncodeToString(sum[:16])
	return prefix + "-" + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// api wraps an API handler with MX's request checks: Basic auth with the
// client's credentials (401 otherwise), the v1 Accept header (406
// otherwise, "the request didn't specify a valid API version"), JSON
// bodies on POST and PUT (400 otherwise; MX's reference does not say
// what it answers), injected failures and the call counters.
func (s *Server) api(h func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimPrefix(r.Pattern, r.Method+" ")
		s.mu.Lock()
		s.calls[r.Pattern]++
		s.mu.Unlock()
		id, key, ok := r.BasicAuth()
		if !ok || id != s.ClientID || key != s.APIKey {
			writeError(w, http.StatusUnauthorized, "Invalid MX-API-Key or MX-Client-ID provided.")
			return
		}
		if r.Header.Get("Accept") != MediaType {
			writeError(w, http.StatusNotAcceptable, "The request didn't specify a valid API version.")
			return
		}
		if (r.Method == http.MethodPost || r.Method == http.MethodPut) && r.ContentLength != 0 &&
			!strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			writeError(w, http.StatusBadRequest, "Content-Type must be application/json.")
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
			writeError(w, fail.Status, fail.Message)
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", MediaType)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeError answers MX's error body.
func writeError(w http.ResponseWriter, status int, msg string) {
	type body struct {
		Message string `json:"message"`
	}
	writeJSON(w, status, map[string]body{"error": {Message: msg}})
}

// Pagination is MX's paging block.
type Pagination struct {
	CurrentPage  int `json:"current_page"`
	PerPage      int `json:"per_page"`
	TotalEntries int `json:"total_entries"`
	TotalPages   int `json:"total_pages"`
}

// The largest records_per_page of MX's lists: GET /institutions takes 10
// to 100 (the spec's recordsPerPage), the user and member lists 10 to
// 1000 (recordsPerPageMax1000). Above it MX silently uses 25.
const (
	InstitutionsPerPage = 100
	MaxPerPage          = 1000
)

// page cuts one page out of list. records_per_page defaults to 25 and a
// value above the endpoint's maximum falls back to 25, as MX documents;
// MX does not say what a value below 10 does, so it is raised to 10.
func page[T any](r *http.Request, list []T, maxPer int) ([]T, Pagination) {
	per := 25
	if v, err := strconv.Atoi(r.URL.Query().Get("records_per_page")); err == nil {
		switch {
		case v > maxPer:
		case v < 10:
			per = 10
		default:
			per = v
		}
	}
	n := 1
	if v, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && v > 1 {
		n = v
	}
	pg := Pagination{CurrentPage: n, PerPage: per, TotalEntries: len(list), TotalPages: max(1, int(math.Ceil(float64(len(list))/float64(per))))}
	start := min(len(list), (n-1)*per)
	return list[start:min(len(list), start+per)], pg
}

// decode reads a JSON request body.
func decode(r *http.Request, dst any) error {
	defer r.Body.Close()
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(dst); err != nil {
		return fmt.Errorf("the request body is not valid JSON: %v", err)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func rfc3339(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	return ptr(t.UTC().Format(time.RFC3339))
}
