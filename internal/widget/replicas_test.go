package widget_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"banklink"
	"banklink/internal/aggregation"
	"banklink/internal/apitest"
	"banklink/internal/connecttoken"
	"banklink/internal/httpapi"
	"banklink/internal/linking"
	"banklink/internal/providers"
	"banklink/internal/sandbox"
	"banklink/internal/search"
	"banklink/internal/sqlstore"
	"banklink/internal/testenv"
	"banklink/internal/widget"
	"banklink/internal/wiring"
)

// replicaSet is banklink as several stateless replicas: one widget and API
// server per replica, each with its own store connections, all on one
// database (a PostgreSQL database, or one SQLite file as separate
// processes would share it).
type replicaSet struct {
	t      testing.TB
	urls   []string
	stores []*sqlstore.DB
	api    *httpapi.Server // replica 0's, for connect/start
	scope  banklink.Scope
	client *http.Client
	// bank is the sandbox provider every replica logs in through, counted
	// and optionally held at the test's edge.
	bank *edgeBank
	// started counts the connections started, for their customers' ids.
	started int
	runners []*aggregation.Runner
}

// waitIdle waits until no replica runs an aggregation.
func (rs *replicaSet) waitIdle() {
	for _, r := range rs.runners {
		r.Wait()
	}
}

// dialects are the databases replica tests run on.
var dialects = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "shared.db") }},
	{"postgres", func(t *testing.T) string { return testenv.PostgresDSN(t) }},
}

func newReplicaSet(t testing.TB, dsn string, n int) *replicaSet {
	t.Helper()
	ctx := context.Background()
	tokens, err := connecttoken.NewSigner("banklink", connecttoken.DefaultTTL, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	rs := &replicaSet{t: t, client: apitest.Client(t, httpapi.OpenAPI), bank: &edgeBank{Provider: &sandbox.Provider{}}}
	enabled := map[banklink.Environment][]string{banklink.Sandbox: {sandbox.ProviderType}}
	for i := range n {
		db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Migrate: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if i == 0 {
			if err := db.UpsertInstitutions(ctx, directory()); err != nil {
				t.Fatal(err)
			}
		}
		live := search.NewLive(db)
		if err := live.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		var h http.Handler
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
		t.Cleanup(srv.Close)
		rs.bank.AuthorizeURL = srv.URL + "/connect/sandbox/authorize"
		svc, err := wiring.New(wiring.Parts{Store: db, Tokens: tokens, Directory: live, Providers: providers.New(rs.bank)},
			wiring.Options{PublicURL: srv.URL, Providers: enabled, MinEligibleInstitutions: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(svc.Runner.Wait)
		rs.runners = append(rs.runners, svc.Runner)
		api := svc.API
		h = svc.Handler()
		rs.urls, rs.stores = append(rs.urls, srv.URL), append(rs.stores, db)
		if i == 0 {
			rs.api = api
		}
	}
	acct := &banklink.Account{ID: banklink.NewID(), Name: "Acme"}
	if err := rs.stores[0].CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	rs.scope = banklink.Scope{AccountID: acct.ID, Environment: banklink.Sandbox}
	return rs
}

// start runs connect/start and returns the connection and its token.
func (rs *replicaSet) start() (id, token string) {
	rs.t.Helper()
	// A customer per connection: the same login linked again for one
	// customer is a duplicate (docs/api.md), which the replicas' runners
	// would mark inactive while a trial checks the status.
	rs.started++
	customer := fmt.Sprintf("c%d", rs.started)
	resp, err := rs.api.Linking.StartConnection(context.Background(), rs.scope, &linking.StartRequest{ExternalCustomerID: &customer, Products: []string{"BALANCES"}})
	if err != nil {
		rs.t.Fatalf("connect/start: %v", err)
	}
	return resp.ID, resp.ConnectToken
}

// call sends a widget API request to replica i. It may run on any
// goroutine: failures come back as an error rather than ending the test.
func (rs *replicaSet) call(i int, token, path, body string) (int, map[string]any, error) {
	req, err := http.NewRequest("POST", rs.urls[i%len(rs.urls)]+"/connect/api/"+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := rs.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, b)
	}
	return resp.StatusCode, out, nil
}

// must is call for the test's own goroutine, expecting 200.
func (rs *replicaSet) must(i int, token, path, body string) map[string]any {
	rs.t.Helper()
	status, out, err := rs.call(i, token, path, body)
	if err != nil || status != http.StatusOK {
		rs.t.Fatalf("POST %s on replica %d: %d %v %v", path, i, status, out, err)
	}
	return out
}

// burst sends n requests at once, request i to replica i%len, and returns
// their statuses and bodies. Each answer is reported to the bank's hold
// (when one is set) as it arrives.
func (rs *replicaSet) burst(n int, token, path string, body func(i int) string) ([]int, []map[string]any) {
	rs.t.Helper()
	statuses, bodies := make([]int, n), make([]map[string]any, n)
	errs := make([]error, n)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-gate
			statuses[i], bodies[i], errs[i] = rs.call(i, token, path, body(i))
			if h := rs.bank.hold.Load(); h != nil {
				h.answered()
			}
		})
	}
	close(gate)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			rs.t.Fatalf("request %d: %v", i, err)
		}
	}
	return statuses, bodies
}

// edgeBank is the sandbox bank behind a counter at the provider's edge:
// it counts the login steps that reach the bank and, while a hold is set,
// keeps each one waiting at the bank until every request of a burst has
// either reached the bank or been answered without it. That makes "how
// many got through" a matter of banklink's bookkeeping, not of timing.
type edgeBank struct {
	*sandbox.Provider
	calls atomic.Int64
	hold  atomic.Pointer[hold]
	// redirectFailure, when set, is what CompleteRedirect reports: a
	// hosted login (as MX's) telling that the customer's credentials
	// were wrong.
	redirectFailure error
}

func (b *edgeBank) reached() {
	b.calls.Add(1)
	if h := b.hold.Load(); h != nil {
		h.arrived()
	}
}

func (b *edgeBank) SubmitCredentials(ctx context.Context, req banklink.LoginRequest) (*banklink.LoginStep, error) {
	b.reached()
	return b.Provider.SubmitCredentials(ctx, req)
}

func (b *edgeBank) AnswerMFA(ctx context.Context, req banklink.LoginRequest, state, answer string) (*banklink.LoginStep, error) {
	b.reached()
	return b.Provider.AnswerMFA(ctx, req, state, answer)
}

func (b *edgeBank) CompleteRedirect(ctx context.Context, req banklink.LoginRequest, query map[string]string) (*banklink.LoginStep, error) {
	b.reached()
	if b.redirectFailure != nil {
		return nil, b.redirectFailure
	}
	return b.Provider.CompleteRedirect(ctx, req, query)
}

// hold keeps the bank's callers waiting until n requests have each
// either arrived at the bank or been answered.
type hold struct {
	mu      sync.Mutex
	n, seen int
	release chan struct{}
	// arrivals receives a value as each caller arrives at the bank.
	arrivals chan struct{}
	// timedOut records the safety valve: a burst that never settles
	// (a bug) is released after a minute and fails the test.
	timedOut atomic.Bool
}

func newHold(n int) *hold {
	h := &hold{n: n, release: make(chan struct{}), arrivals: make(chan struct{}, n)}
	time.AfterFunc(time.Minute, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.seen < h.n {
			h.timedOut.Store(true)
			h.seen = h.n
			close(h.release)
		}
	})
	return h
}

func (h *hold) count() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen++; h.seen == h.n {
		close(h.release)
	}
}

func (h *hold) arrived() {
	h.count()
	h.arrivals <- struct{}{}
	<-h.release
}

// answered counts a request answered; those that arrived at the bank were
// counted there, and are only answered after the release.
func (h *hold) answered() {
	select {
	case <-h.release:
	default:
		h.count()
	}
}

// TestCompleteRaceAcrossReplicas submits the account choice with
// different accounts to two replicas at once, many times over. Exactly
// one submit completes the connection; the other is told the connection
// was completed with other accounts (409), and whatever a 200 answers is
// what is stored: the accounts the session holds, which aggregation reads.
func TestCompleteRaceAcrossReplicas(t *testing.T) {
	const trials = 20
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			rs := newReplicaSet(t, d.dsn(t), 2)
			bank := sandbox.TestBankID
			for trial := range trials {
				id, tok := rs.start()
				rs.must(0, tok, "select", fmt.Sprintf(`{"institutionId":%q}`, bank))
				s := rs.must(1, tok, "login", `{"credentials":{"username":"user_good","password":"pass_good"}}`)
				accounts := s["accounts"].([]any)
				statuses, bodies := rs.burst(2, tok, "complete", func(i int) string {
					return fmt.Sprintf(`{"consent":true,"accountIds":[%q]}`, accounts[i].(map[string]any)["id"])
				})
				sess, err := rs.stores[0].FindConnectSession(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				var stored []string
				for _, a := range sess.Accounts {
					stored = append(stored, a.Name+" "+a.Mask)
				}
				wins := 0
				for i, status := range statuses {
					switch status {
					case http.StatusOK:
						wins++
						var answered []string
						for _, a := range bodies[i]["result"].(map[string]any)["accounts"].([]any) {
							a := a.(map[string]any)
							answered = append(answered, fmt.Sprint(a["name"], " ", a["mask"]))
						}
						if fmt.Sprint(answered) != fmt.Sprint(stored) {
							t.Errorf("trial %d: replica %d answered 200 with %v, but the connection holds %v", trial, i, answered, stored)
						}
					case http.StatusConflict:
						if bodies[i]["code"] != banklink.ECONFLICT {
							t.Errorf("trial %d: replica %d: %v", trial, i, bodies[i])
						}
					default:
						t.Errorf("trial %d: replica %d answered %d %v", trial, i, status, bodies[i])
					}
				}
				if wins != 1 {
					t.Errorf("trial %d: %d submits with different accounts answered 200 (%v), want exactly 1", trial, wins, statuses)
				}
				conn, err := rs.stores[1].FindConnectionByID(t.Context(), rs.scope, id)
				if err != nil || conn.Status != banklink.StatusActive || sess.Step != banklink.StepDone {
					t.Fatalf("trial %d: connection %+v %v, session step %s", trial, conn, err, sess.Step)
				}
			}
		})
	}
}

// TestLoginAttemptLimitAcrossReplicas sends 30 failing login steps at
// once, spread over two replicas: no more than MaxLoginFailures of them
// may reach the provider, and the session is locked afterwards.
func TestLoginAttemptLimitAcrossReplicas(t *testing.T) {
	const n = 30
	for _, tc := range []struct {
		name string
		// setup brings a fresh connection to the step under test.
		setup func(rs *replicaSet, tok string)
		path  string
		body  string
		// redirectFailure is the hosted login's verdict, for redirects.
		redirectFailure error
	}{
		{name: "wrong passwords", path: "login", body: `{"credentials":{"username":"user_good","password":"wrong"}}`,
			setup: func(rs *replicaSet, tok string) {
				rs.must(0, tok, "select", fmt.Sprintf(`{"institutionId":%q}`, sandbox.TestBankID))
			}},
		{name: "wrong MFA codes", path: "mfa", body: `{"answer":"0000"}`,
			setup: func(rs *replicaSet, tok string) {
				rs.must(0, tok, "select", fmt.Sprintf(`{"institutionId":%q}`, sandbox.TestBankID))
				if s := rs.must(1, tok, "login", `{"credentials":{"username":"user_mfa_code","password":"pass_good"}}`); s["step"] != banklink.StepMFA {
					rs.t.Fatalf("login: %v", s)
				}
			}},
		{name: "redirect logins with wrong credentials", path: "oauth", body: `{"code":"sandbox-approved"}`,
			redirectFailure: &banklink.ProviderError{Reason: banklink.LoginInvalidCredentials, Retryable: true, DisplayMessage: "The credentials were not accepted."},
			setup: func(rs *replicaSet, tok string) {
				rs.must(0, tok, "select", fmt.Sprintf(`{"institutionId":%q}`, sandbox.TestOAuthBankID))
			}},
	} {
		for _, d := range dialects {
			t.Run(tc.name+"/"+d.name, func(t *testing.T) {
				rs := newReplicaSet(t, d.dsn(t), 2)
				id, tok := rs.start()
				tc.setup(rs, tok)
				rs.bank.redirectFailure = tc.redirectFailure
				before := rs.bank.calls.Load()
				h := newHold(n)
				rs.bank.hold.Store(h)
				statuses, bodies := rs.burst(n, tok, tc.path, func(int) string { return tc.body })
				rs.bank.hold.Store(nil)
				if h.timedOut.Load() {
					t.Error("the burst never settled")
				}
				reached := rs.bank.calls.Load() - before
				if reached > banklink.MaxLoginFailures {
					t.Errorf("%d of %d concurrent failing attempts reached the provider, limit %d", reached, n, banklink.MaxLoginFailures)
				}
				for i, status := range statuses {
					if status != http.StatusUnprocessableEntity || bodies[i]["code"] != banklink.ELOGIN {
						t.Errorf("attempt %d: %d %v", i, status, bodies[i])
					}
				}
				sess, err := rs.stores[0].FindConnectSession(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				if sess.Failures != banklink.MaxLoginFailures {
					t.Errorf("stored failures = %d, want %d", sess.Failures, banklink.MaxLoginFailures)
				}
				// Locked: even a right answer no longer reaches the bank.
				rs.bank.redirectFailure = nil
				before = rs.bank.calls.Load()
				status, body, err := rs.call(1, tok, tc.path, strings.NewReplacer("wrong", "pass_good", "0000", sandbox.MFACodeAnswer).Replace(tc.body))
				if err != nil || status != http.StatusUnprocessableEntity || body["reason"] != widget.ReasonTooManyAttempts {
					t.Errorf("right answer after the limit: %d %v %v", status, body, err)
				}
				if got := rs.bank.calls.Load() - before; got != 0 {
					t.Errorf("the right answer after the limit reached the provider")
				}
			})
		}
	}
}

// TestStepRacesAcrossReplicas moves the session on (back, or another
// institution) on one replica while a login step is at the provider on
// the other. The change answered first stands: the login step that read
// the session before it must not overwrite it with its own outcome, and
// answers 409 instead of a 200 that would not be what is stored.
func TestStepRacesAcrossReplicas(t *testing.T) {
	toBank := func(rs *replicaSet, tok string) {
		rs.must(0, tok, "select", fmt.Sprintf(`{"institutionId":%q}`, sandbox.TestBankID))
	}
	for _, tc := range []struct {
		name                   string
		setup                  func(rs *replicaSet, tok string)
		first, firstBody       string // held at the provider
		second, secondBody     string // answered meanwhile
		wantStep, wantInstitut string
	}{
		{name: "back while a login is at the bank", setup: toBank,
			first: "login", firstBody: `{"credentials":{"username":"user_good","password":"pass_good"}}`,
			second: "back", secondBody: `{}`, wantStep: banklink.StepPick},
		{name: "another institution while a login is at the bank", setup: toBank,
			first: "login", firstBody: `{"credentials":{"username":"user_good","password":"pass_good"}}`,
			second: "select", secondBody: fmt.Sprintf(`{"institutionId":%q}`, sandbox.TestCreditUnionID),
			wantStep: banklink.StepCredentials, wantInstitut: sandbox.TestCreditUnionID},
		{name: "back while an MFA answer is at the bank", setup: func(rs *replicaSet, tok string) {
			toBank(rs, tok)
			rs.must(0, tok, "login", `{"credentials":{"username":"user_mfa_code","password":"pass_good"}}`)
		}, first: "mfa", firstBody: fmt.Sprintf(`{"answer":%q}`, sandbox.MFACodeAnswer),
			second: "back", secondBody: `{}`, wantStep: banklink.StepCredentials, wantInstitut: sandbox.TestBankID},
		{name: "another institution while a redirect login returns", setup: func(rs *replicaSet, tok string) {
			rs.must(0, tok, "select", fmt.Sprintf(`{"institutionId":%q}`, sandbox.TestOAuthBankID))
		}, first: "oauth", firstBody: fmt.Sprintf(`{"code":%q}`, sandbox.OAuthApproveCode),
			second: "select", secondBody: fmt.Sprintf(`{"institutionId":%q}`, sandbox.TestBankID),
			wantStep: banklink.StepCredentials, wantInstitut: sandbox.TestBankID},
	} {
		for _, d := range dialects {
			t.Run(tc.name+"/"+d.name, func(t *testing.T) {
				rs := newReplicaSet(t, d.dsn(t), 2)
				id, tok := rs.start()
				tc.setup(rs, tok)
				h := newHold(2)
				rs.bank.hold.Store(h)
				var status int
				var body map[string]any
				var err error
				done := make(chan struct{})
				go func() {
					defer close(done)
					status, body, err = rs.call(0, tok, tc.first, tc.firstBody)
				}()
				<-h.arrivals
				second := rs.must(1, tok, tc.second, tc.secondBody)
				h.answered()
				<-done
				rs.bank.hold.Store(nil)
				if err != nil {
					t.Fatal(err)
				}
				if status != http.StatusConflict || body["code"] != banklink.ECONFLICT {
					t.Errorf("%s that read the session before %s: %d %v, want 409", tc.first, tc.second, status, body)
				}
				sess, err := rs.stores[1].FindConnectSession(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				answered := ""
				if in, ok := second["institution"].(map[string]any); ok {
					answered = in["id"].(string)
				}
				if sess.Step != tc.wantStep || sess.InstitutionID != tc.wantInstitut || second["step"] != tc.wantStep || answered != tc.wantInstitut {
					t.Errorf("%s answered step %v at %q; stored step %s at %q; want %s at %q",
						tc.second, second["step"], answered, sess.Step, sess.InstitutionID, tc.wantStep, tc.wantInstitut)
				}
			})
		}
	}
}
