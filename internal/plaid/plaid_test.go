package plaid

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"banklink"
	"banklink/internal/plaid/fakeplaid"
	"banklink/internal/sqlstore"
)

// env is a Plaid provider talking to a fake Plaid, with its secrets in a
// real (SQLite) store.
type env struct {
	fp    *fakeplaid.Server
	p     *Provider
	store *sqlstore.DB
	n     int
}

func newEnv(t *testing.T, mods ...func(*Config)) *env {
	t.Helper()
	fp := fakeplaid.New(t)
	db, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "p.db"), sqlstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{fp: fp, store: db}
	e.p = e.provider(t, mods...)
	return e
}

// provider returns another Provider on the same Plaid and store (another
// replica).
func (e *env) provider(t *testing.T, mods ...func(*Config)) *Provider {
	t.Helper()
	cfg := Config{ClientID: fakeplaid.ClientID, Secret: fakeplaid.Secret, BaseURL: e.fp.URL, Secrets: e.store, SyncPoll: time.Millisecond}
	for _, m := range mods {
		m(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// institution returns the fake's institution as banklink sees it.
func (e *env) institution(t *testing.T, plaidID string) *banklink.Institution {
	t.Helper()
	list, err := e.p.Institutions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range list {
		if in.Providers[ProviderType].ProviderInstitutionID == plaidID {
			in.ID = "inst-" + plaidID
			return in
		}
	}
	t.Fatalf("no institution %s", plaidID)
	return nil
}

func (e *env) request(in *banklink.Institution, products ...banklink.Product) banklink.LoginRequest {
	e.n++
	return banklink.LoginRequest{Institution: in, ProviderInstitutionID: in.Providers[ProviderType].ProviderInstitutionID, Products: products,
		CallbackURL: fmt.Sprintf("https://banklink.test/connect?connectToken=tok-%d&oauth=callback", e.n), Now: time.Now()}
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// visit opens the Hosted Link URL as the customer would, with query
// scripting what they do, and returns where Plaid sends them back.
func visit(t *testing.T, hosted string, query url.Values) string {
	t.Helper()
	u, err := url.Parse(hosted)
	if err != nil {
		t.Fatal(err)
	}
	u.RawQuery = query.Encode()
	resp, err := noRedirect.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("hosted link: %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// link runs a whole login and returns its step.
func (e *env) link(t *testing.T, in *banklink.Institution, products ...banklink.Product) (*banklink.LoginStep, banklink.LoginRequest) {
	t.Helper()
	req := e.request(in, products...)
	start, err := e.p.StartLogin(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if back := visit(t, start.RedirectURL, url.Values{"institution_id": {req.ProviderInstitutionID}}); back != req.CallbackURL {
		t.Fatalf("Plaid sent the customer to %q, want the callback %q", back, req.CallbackURL)
	}
	step, err := e.p.CompleteRedirect(t.Context(), req, map[string]string{"code": "", "error": ""})
	if err != nil {
		t.Fatal(err)
	}
	return step, req
}

func TestNewValidatesConfig(t *testing.T) {
	store := &memSecrets{}
	for _, tc := range []struct {
		name  string
		cfg   Config
		field string
	}{
		{"client id", Config{Secret: "s", Environment: "sandbox", Secrets: store}, "ClientID"},
		{"secret", Config{ClientID: "c", Environment: "sandbox", Secrets: store}, "Secret"},
		{"secrets", Config{ClientID: "c", Secret: "s", Environment: "sandbox"}, "Secrets"},
		{"environment", Config{ClientID: "c", Secret: "s", Environment: "development", Secrets: store}, "Environment"},
		{"base url", Config{ClientID: "c", Secret: "s", BaseURL: "ftp://x", Secrets: store}, "BaseURL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if be, ok := err.(*banklink.Error); !ok || be.Field != tc.field {
				t.Errorf("New = %v, want an error about %s", err, tc.field)
			}
		})
	}
	for env, want := range map[string]string{"sandbox": SandboxURL, "production": ProductionURL} {
		p, err := New(Config{ClientID: "c", Secret: "s", Environment: env, Secrets: store})
		if err != nil || p.base != want || p.Type() != "plaid" {
			t.Errorf("%s: %v %v", env, p, err)
		}
	}
}

// memSecrets is banklink.SecretStore's contract in memory.
type memSecrets struct{ m map[string][]byte }

func (s *memSecrets) EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error) {
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	if v, ok := s.m[name]; ok {
		return v, nil
	}
	s.m[name] = value
	return value, nil
}

func TestLoginThroughHostedLink(t *testing.T) {
	e := newEnv(t)
	in := e.institution(t, "ins_109508")
	req := e.request(in, banklink.Balances, banklink.Identifiers, banklink.Transactions)
	start, err := e.p.StartLogin(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(start.Fields) != 0 || !strings.HasPrefix(start.RedirectURL, e.fp.URL+"/hl/") {
		t.Fatalf("start = %+v", start)
	}
	// Rendering the widget again, here or on another replica, sends the
	// customer to the same Link session.
	again, err := e.p.StartLogin(t.Context(), req)
	if err != nil || again.RedirectURL != start.RedirectURL || e.fp.Calls("/link/token/create") != 1 {
		t.Fatalf("second start = %+v %v (%d Link tokens)", again, err, e.fp.Calls("/link/token/create"))
	}
	other, err := e.provider(t).StartLogin(t.Context(), req)
	if err != nil || other.RedirectURL != start.RedirectURL {
		t.Fatalf("another replica's start = %+v %v", other, err)
	}
	if back := visit(t, start.RedirectURL, url.Values{"institution_id": {"ins_109508"}}); back != req.CallbackURL {
		t.Fatalf("back to %q", back)
	}
	// The customer comes back to another replica.
	step, err := e.provider(t).CompleteRedirect(t.Context(), req, map[string]string{"code": "", "error": ""})
	if err != nil {
		t.Fatal(err)
	}
	items := e.fp.Items()
	if len(items) != 1 || step.LoginID != items[0].ID || !step.Done() {
		t.Fatalf("step = %+v, items %v", step, items)
	}
	it := items[0]
	var got []string
	for _, a := range step.Accounts {
		got = append(got, fmt.Sprintf("%s %s %s %s %s", a.ID, a.Name, a.Type, a.Subtype, a.Mask))
	}
	var want []string
	for _, a := range it.Accounts {
		want = append(want, fmt.Sprintf("%s %s %s %s %s", a.ID, a.Name, accountType(a.Type), strings.ToUpper(strings.ReplaceAll(a.Subtype, " ", "_")), a.Mask))
	}
	if !slices.Equal(got, want) {
		t.Errorf("accounts\n got %v\nwant %v", got, want)
	}
	// The access token is stored for the aggregator, and only there.
	token, err := e.p.accessToken(t.Context(), it.ID)
	if err != nil || token != it.AccessToken {
		t.Errorf("stored token %q %v", token, err)
	}
	// The Link token asked for what the products need, two years of
	// transactions, and the widget's callback.
	if e.fp.Calls("/item/public_token/exchange") != 1 || e.fp.Calls("/link/token/get") != 1 || e.fp.Calls("/accounts/get") != 1 {
		t.Errorf("calls: exchange %d, link/token/get %d, accounts/get %d", e.fp.Calls("/item/public_token/exchange"),
			e.fp.Calls("/link/token/get"), e.fp.Calls("/accounts/get"))
	}
}

// aesSealer seals with AES-GCM, like a key ring would.
type aesSealer struct{ aead cipher.AEAD }

func newSealer(t *testing.T) *aesSealer {
	key := make([]byte, 32)
	rand.Read(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return &aesSealer{aead}
}

func (s *aesSealer) Seal(plain, ad []byte) (string, []byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return "k1", s.aead.Seal(nonce, nonce, plain, ad), nil
}

func (s *aesSealer) Open(kid string, sealed, ad []byte) ([]byte, error) {
	if kid != "k1" || len(sealed) < s.aead.NonceSize() {
		return nil, errors.New("unknown key")
	}
	n := s.aead.NonceSize()
	return s.aead.Open(nil, sealed[:n], sealed[n:], ad)
}

func TestAccessTokensAreSealed(t *testing.T) {
	sealer := newSealer(t)
	e := newEnv(t, func(c *Config) { c.Sealer = sealer })
	step, _ := e.link(t, e.institution(t, "ins_109508"), banklink.Balances)
	it := e.fp.Item(step.LoginID)
	raw, err := e.store.EnsureSecret(t.Context(), tokenSecretName(it.ID), absent)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(it.AccessToken)) || bytes.Equal(raw, absent) {
		t.Fatalf("stored record %q holds the token in clear", raw)
	}
	if got, err := e.p.accessToken(t.Context(), it.ID); err != nil || got != it.AccessToken {
		t.Fatalf("accessToken = %q %v", got, err)
	}
	// Without the sealer the token cannot be read.
	if _, err := e.provider(t).accessToken(t.Context(), it.ID); banklink.ErrorCode(err) != banklink.EINTERNAL {
		t.Errorf("unsealed read = %v", err)
	}
}

func TestCompleteRedirectOutcomes(t *testing.T) {
	e := newEnv(t)
	in := e.institution(t, "ins_109508")
	for _, tc := range []struct {
		name      string
		query     url.Values
		skipVisit bool
		reason    string
		retryable bool
		display   string
	}{
		{"customer left", url.Values{"outcome": {"exit"}}, false, banklink.LoginOAuthDenied, true, msgDenied},
		{"wrong password", url.Values{"outcome": {"exit"}, "error_code": {"INVALID_CREDENTIALS"}}, false,
			banklink.LoginInvalidCredentials, true, "The provided credentials were not correct. Please try again."},
		{"wrong MFA", url.Values{"outcome": {"exit"}, "error_code": {"INVALID_MFA"}}, false,
			banklink.LoginInvalidMFA, true, "The provided MFA responses were not correct. Please try again."},
		{"institution down", url.Values{"outcome": {"exit"}, "error_code": {"INSTITUTION_DOWN"}}, false,
			banklink.LoginInstitutionDown, true, "This financial institution is not currently responding to requests. We apologize for the inconvenience."},
		{"not finished", nil, true, banklink.LoginOAuthDenied, true, msgNotFinished},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := e.request(in, banklink.Balances)
			start, err := e.p.StartLogin(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.skipVisit {
				visit(t, start.RedirectURL, tc.query)
			}
			_, err = e.p.CompleteRedirect(t.Context(), req, map[string]string{})
			pe, ok := err.(*banklink.ProviderError)
			if !ok || pe.Reason != tc.reason || pe.Retryable != tc.retryable || pe.DisplayMessage != tc.display {
				t.Errorf("err = %#v, want %s retryable=%v %q", err, tc.reason, tc.retryable, tc.display)
			}
		})
	}
	t.Run("left, then came back and linked", func(t *testing.T) {
		req := e.request(in, banklink.Balances)
		start, err := e.p.StartLogin(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		visit(t, start.RedirectURL, url.Values{"outcome": {"exit"}})
		visit(t, start.RedirectURL, url.Values{"institution_id": {"ins_109508"}})
		if step, err := e.p.CompleteRedirect(t.Context(), req, nil); err != nil || step.LoginID == "" {
			t.Errorf("step %+v %v", step, err)
		}
	})
	t.Run("another institution than chosen", func(t *testing.T) {
		req := e.request(in, banklink.Balances)
		start, err := e.p.StartLogin(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		visit(t, start.RedirectURL, url.Values{"institution_id": {"ins_109512"}})
		_, err = e.p.CompleteRedirect(t.Context(), req, nil)
		pe, ok := err.(*banklink.ProviderError)
		if !ok || pe.Reason != banklink.LoginOAuthDenied || !pe.Retryable || !strings.Contains(pe.DisplayMessage, "Houndstooth Bank") {
			t.Errorf("err = %#v", err)
		}
		items := e.fp.Items()
		if last := items[len(items)-1]; last.InstitutionID != "ins_109512" || !last.Removed() {
			t.Errorf("the wrong Item %s was not removed", last.ID)
		}
	})
	t.Run("no login started", func(t *testing.T) {
		_, err := e.p.CompleteRedirect(t.Context(), e.request(in, banklink.Balances), nil)
		if pe, ok := err.(*banklink.ProviderError); !ok || pe.Reason != banklink.LoginOAuthDenied || pe.DisplayMessage != msgSessionGone {
			t.Errorf("err = %#v", err)
		}
	})
	t.Run("credential form is not used", func(t *testing.T) {
		if _, err := e.p.SubmitCredentials(t.Context(), e.request(in)); banklink.ErrorCode(err) != banklink.ENOTSUPPORTED {
			t.Errorf("SubmitCredentials = %v", err)
		}
		if _, err := e.p.AnswerMFA(t.Context(), e.request(in), "", ""); banklink.ErrorCode(err) != banklink.ENOTSUPPORTED {
			t.Errorf("AnswerMFA = %v", err)
		}
	})
}

func TestStartLoginErrors(t *testing.T) {
	e := newEnv(t)
	in := e.institution(t, "ins_109508")
	t.Run("institution down in the directory", func(t *testing.T) {
		down := *in
		down.Providers = map[string]banklink.ProviderInstitution{ProviderType: {ProviderInstitutionID: "ins_109508", Health: banklink.HealthDown}}
		_, err := e.p.StartLogin(t.Context(), e.request(&down))
		if pe, ok := err.(*banklink.ProviderError); !ok || pe.Reason != banklink.LoginInstitutionDown {
			t.Errorf("err = %#v", err)
		}
	})
	t.Run("Plaid down", func(t *testing.T) {
		e.fp.FailNext("/link/token/create", "INTERNAL_SERVER_ERROR")
		_, err := e.p.StartLogin(t.Context(), e.request(in))
		if pe, ok := err.(*banklink.ProviderError); !ok || pe.Reason != banklink.LoginProviderDown || !pe.Retryable {
			t.Errorf("err = %#v", err)
		}
	})
	t.Run("recorded session expired", func(t *testing.T) {
		req := e.request(in, banklink.Balances)
		if _, err := e.p.StartLogin(t.Context(), req); err != nil {
			t.Fatal(err)
		}
		later := e.provider(t, func(c *Config) { c.Now = func() time.Time { return time.Now().Add(5 * time.Hour) } })
		_, err := later.StartLogin(t.Context(), req)
		if pe, ok := err.(*banklink.ProviderError); !ok || pe.Reason != banklink.LoginOAuthDenied || pe.DisplayMessage != msgSessionGone {
			t.Errorf("err = %#v", err)
		}
	})
	t.Run("callback posted before the login started", func(t *testing.T) {
		req := e.request(in, banklink.Balances)
		if _, err := e.p.CompleteRedirect(t.Context(), req, nil); err == nil {
			t.Fatal("completed a login never started")
		}
		_, err := e.p.StartLogin(t.Context(), req)
		if pe, ok := err.(*banklink.ProviderError); !ok || pe.DisplayMessage != msgSessionGone {
			t.Errorf("err = %#v", err)
		}
	})
	t.Run("an account's own Plaid keys are the ones sent", func(t *testing.T) {
		// Keys Plaid does not know: refused, so they were used.
		req := e.request(in, banklink.Balances)
		req.ProviderCredentials = map[string]string{CredentialClientID: "theirs", CredentialSecret: "theirs"}
		if _, err := e.p.StartLogin(t.Context(), req); banklink.ErrorCode(err) != banklink.EPROVIDER || !strings.Contains(err.Error(), "INVALID_API_KEYS") {
			t.Errorf("StartLogin with unknown account keys = %v", err)
		}
		// The deployment's keys given as the account's work; a missing
		// key falls back to the deployment's.
		req = e.request(in, banklink.Balances)
		req.ProviderCredentials = map[string]string{CredentialSecret: fakeplaid.Secret}
		wrongDeployment := e.provider(t, func(c *Config) { c.Secret = "wrong" })
		if _, err := wrongDeployment.StartLogin(t.Context(), req); err != nil {
			t.Errorf("StartLogin with the account's secret = %v", err)
		}
	})
	t.Run("wrong API keys", func(t *testing.T) {
		p := e.provider(t, func(c *Config) { c.Secret = "wrong" })
		_, err := p.StartLogin(t.Context(), e.request(in))
		if be, ok := err.(*banklink.Error); !ok || be.Code != banklink.EPROVIDER || be.Reason != "INVALID_API_KEYS" || strings.Contains(be.Error(), "wrong") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestAggregateEveryProduct(t *testing.T) {
	e := newEnv(t)
	e.fp.SyncPageLimit = 50
	e.fp.InvestmentsPageLimit = 7
	step, _ := e.link(t, e.institution(t, "ins_109508"), banklink.Products...)
	it := e.fp.Item(step.LoginID)
	now := time.Now()
	accts, err := e.p.Aggregate(t.Context(), banklink.AggregationRequest{Institution: e.institution(t, "ins_109508"), LoginID: step.LoginID,
		Products: banklink.Products, Since: now.AddDate(0, -24, 0), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(accts) != len(it.Accounts) {
		t.Fatalf("%d accounts, want %d", len(accts), len(it.Accounts))
	}
	txCount := map[string]int{}
	for _, tx := range it.Transactions {
		txCount[tx.AccountID]++
	}
	for i, a := range accts {
		w := it.Accounts[i]
		if a.ProviderAccountID != w.ID || a.Name != w.Name || a.Mask != w.Mask {
			t.Errorf("account %d = %+v, want %+v", i, a, w)
		}
		if a.Balances == nil || a.Balances.CurrentAmount != *w.Current || a.Balances.Currency != w.Currency ||
			(w.Available == nil) != (a.Balances.AvailableAmount == nil) || (w.Available != nil && *w.Available != *a.Balances.AvailableAmount) {
			t.Errorf("%s balances %+v, want current %v available %v", w.Name, a.Balances, *w.Current, w.Available)
		}
		switch {
		case w.ACH != nil:
			if a.Identifiers == nil || a.Identifiers.ACH == nil || a.Identifiers.ACH.AccountNumber != w.ACH.Account || a.Identifiers.ACH.RoutingNumber != w.ACH.Routing {
				t.Errorf("%s identifiers %+v, want %+v", w.Name, a.Identifiers, w.ACH)
			}
		case a.Identifiers != nil:
			t.Errorf("%s (%s) has identifiers %+v", w.Name, w.Type, a.Identifiers)
		}
		if len(a.Owners) != 1 || a.Owners[0].Names[0] != "Alberta Bobbeth Charleson" || a.Owners[0].Emails[0] != "accountholder0@example.com" ||
			len(a.Owners[0].Addresses) != 1 || a.Owners[0].Addresses[0].City != "Malakoff" || !a.Owners[0].Addresses[0].Primary {
			t.Errorf("%s owners %+v", w.Name, a.Owners)
		}
		if len(a.Transactions) != txCount[w.ID] {
			t.Errorf("%s: %d transactions, want %d", w.Name, len(a.Transactions), txCount[w.ID])
		}
		if w.Type == "investment" {
			if len(a.Holdings) != len(it.Holdings) || len(a.InvestmentTransactions) != len(it.InvestmentTransactions) {
				t.Errorf("%s: %d holdings %d investment transactions, want %d and %d", w.Name, len(a.Holdings), len(a.InvestmentTransactions),
					len(it.Holdings), len(it.InvestmentTransactions))
			}
		} else if a.Holdings != nil || a.InvestmentTransactions != nil {
			t.Errorf("%s has investments", w.Name)
		}
	}
	// Every page was read.
	if pages := e.fp.Calls("/transactions/sync"); pages < len(it.Transactions)/50 {
		t.Errorf("%d sync pages for %d transactions", pages, len(it.Transactions))
	}
	if pages := e.fp.Calls("/investments/transactions/get"); pages < len(it.InvestmentTransactions)/7 {
		t.Errorf("%d investment pages for %d transactions", pages, len(it.InvestmentTransactions))
	}
	// Values, signs and states, transaction by transaction.
	byID := map[string]banklink.Transaction{}
	for _, a := range accts {
		for _, tx := range a.Transactions {
			byID[tx.ProviderTransactionID] = tx
		}
	}
	for _, w := range it.Transactions {
		id := w.ID
		if w.PendingTransactionID != "" {
			id = w.PendingTransactionID
		}
		got, ok := byID[id]
		if !ok {
			t.Errorf("transaction %s (%s) missing", id, w.Name)
			continue
		}
		wantDate, wantPosted, wantStatus := w.Date, w.Date, banklink.TxPosted
		if w.AuthorizedDate != "" {
			wantDate = w.AuthorizedDate
		}
		if w.Pending {
			wantPosted, wantStatus = "", banklink.TxPending
		}
		if got.Amount != w.Amount || got.Description != w.Name || got.TransactionDate != wantDate || got.PostedDate != wantPosted ||
			got.Status != wantStatus || got.Currency != w.Currency || got.Category == "" {
			t.Errorf("transaction %s = %+v, want %+v", id, got, w)
		}
	}
	for _, a := range accts {
		if a.Type != "INVESTMENT" {
			continue
		}
		value := 0.0
		for _, h := range a.Holdings {
			value += h.CurrentValue
			if h.ProviderHoldingID == "" || h.Symbol == "" || h.Type == "" {
				t.Errorf("holding %+v", h)
			}
		}
		if fmt.Sprintf("%.2f", value) != fmt.Sprintf("%.2f", a.Balances.CurrentAmount) {
			t.Errorf("holdings worth %.2f, balance %.2f", value, a.Balances.CurrentAmount)
		}
		for _, tx := range a.InvestmentTransactions {
			if tx.Type == "BUY" && tx.Amount <= 0 || tx.Type == "SELL" && tx.Amount >= 0 || tx.Type == "CASH" && tx.Amount >= 0 {
				t.Errorf("sign of %s %.2f", tx.Type, tx.Amount)
			}
		}
	}
}

func TestAggregateWindowAndChosenAccounts(t *testing.T) {
	e := newEnv(t)
	step, _ := e.link(t, e.institution(t, "ins_109508"), banklink.Transactions)
	card := step.Accounts[2].ID
	now := time.Now()
	accts, err := e.p.Aggregate(t.Context(), banklink.AggregationRequest{LoginID: step.LoginID, AccountIDs: []string{card},
		Products: []banklink.Product{banklink.Identifiers, banklink.Transactions}, Since: now.AddDate(0, 0, -90), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(accts) != 1 || accts[0].ProviderAccountID != card || accts[0].Balances != nil || accts[0].Identifiers != nil {
		t.Fatalf("accounts = %+v", accts)
	}
	from := now.AddDate(0, 0, -90).UTC().Format(time.DateOnly)
	for _, tx := range accts[0].Transactions {
		if tx.TransactionDate < from {
			t.Errorf("transaction of %s outside the window", tx.TransactionDate)
		}
	}
	if len(accts[0].Transactions) == 0 {
		t.Error("no transactions in the window")
	}
	// A card has no ACH numbers: /auth/get is not even asked.
	if n := e.fp.Calls("/auth/get"); n != 0 {
		t.Errorf("/auth/get called %d times", n)
	}
}

func TestPendingThenPosted(t *testing.T) {
	e := newEnv(t)
	step, _ := e.link(t, e.institution(t, "ins_109508"), banklink.Transactions)
	now := time.Now()
	req := banklink.AggregationRequest{LoginID: step.LoginID, Products: []banklink.Product{banklink.Transactions}, Since: now.AddDate(0, 0, -30), Now: now}
	before, err := e.p.Aggregate(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	var pending banklink.Transaction
	for _, tx := range before[0].Transactions {
		if tx.Status == banklink.TxPending {
			pending = tx
		}
	}
	if pending.ProviderTransactionID == "" {
		t.Fatal("no pending transaction")
	}
	e.fp.Mutate(step.LoginID, func(it *fakeplaid.Item) {
		it.Post(pending.ProviderTransactionID, "posted-coffee", now.Format(time.DateOnly))
	})
	after, err := e.p.Aggregate(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tx := range after[0].Transactions {
		if tx.ProviderTransactionID == pending.ProviderTransactionID {
			n++
			// Plaid may remove it later by its own id: the alias.
			if tx.Status != banklink.TxPosted || tx.PostedDate == "" || tx.Amount != pending.Amount || tx.ProviderAliasID != "posted-coffee" {
				t.Errorf("posted = %+v", tx)
			}
		}
	}
	if n != 1 || len(after[0].Transactions) != len(before[0].Transactions) {
		t.Errorf("the posted transaction is not the pending one updated: %d matches, %d then %d transactions", n, len(before[0].Transactions), len(after[0].Transactions))
	}
}

func TestSyncRestartsWhenDataChangesDuringPagination(t *testing.T) {
	e := newEnv(t)
	e.fp.SyncPageLimit = 40
	step, _ := e.link(t, e.institution(t, "ins_109508"), banklink.Transactions)
	e.fp.Mutate(step.LoginID, func(it *fakeplaid.Item) { it.MutateOnNextPage = true })
	now := time.Now()
	accts, err := e.p.Aggregate(t.Context(), banklink.AggregationRequest{LoginID: step.LoginID, Products: []banklink.Product{banklink.Transactions},
		Since: now.AddDate(-3, 0, 0), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range accts {
		n += len(a.Transactions)
	}
	if want := len(e.fp.Item(step.LoginID).Transactions); n != want {
		t.Errorf("%d transactions after a restart, want %d", n, want)
	}
}

// fakeClock advances by step at every reading, so waiting loops end
// without real waiting.
type fakeClock struct {
	t    atomic.Int64
	step time.Duration
}

func (c *fakeClock) Now() time.Time { return time.Unix(0, c.t.Add(int64(c.step))) }

func TestSyncWaitsForTransactions(t *testing.T) {
	for _, tc := range []struct {
		name              string
		notReady, initial int
		historical        bool
		clockStep         time.Duration
		wantErr           bool
	}{
		{"ready after two polls", 2, 0, false, time.Second, false},
		{"initial pass accepts the initial pull", 0, 3, false, time.Second, false},
		{"historical pass waits for the history", 0, 2, true, time.Second, false},
		{"never ready in time", 1000, 0, false, time.Minute, true},
		{"history not ready in time", 0, 1000, true, time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{step: tc.clockStep}
			clock.t.Store(time.Now().UnixNano())
			e := newEnv(t, func(c *Config) { c.Now = clock.Now })
			step, _ := e.link(t, e.institution(t, "ins_109508"), banklink.Transactions)
			e.fp.Mutate(step.LoginID, func(it *fakeplaid.Item) { it.NotReadySyncs, it.InitialOnlySyncs = tc.notReady, tc.initial })
			now := time.Now()
			since := now.AddDate(0, 0, -90)
			if tc.historical {
				since = now.AddDate(0, -24, 0)
			}
			accts, err := e.p.Aggregate(t.Context(), banklink.AggregationRequest{LoginID: step.LoginID, Products: []banklink.Product{banklink.Transactions},
				Since: since, Now: now})
			if tc.wantErr {
				if pe, ok := err.(*banklink.ProviderError); !ok || pe.Reason != banklink.LoginProviderDown || !pe.Retryable {
					t.Errorf("err = %#v", err)
				}
				return
			}
			if err != nil || len(accts[0].Transactions) == 0 {
				t.Fatalf("accounts %d, err %v", len(accts), err)
			}
			if calls := e.fp.Calls("/transactions/sync"); calls != 1+tc.notReady+tc.initial*boolInt(tc.historical) {
				t.Errorf("%d sync calls", calls)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestAggregateErrors(t *testing.T) {
	e := newEnv(t)
	in := e.institution(t, "ins_109508")
	step, _ := e.link(t, in, banklink.Products...)
	now := time.Now()
	req := banklink.AggregationRequest{Institution: in, LoginID: step.LoginID, Products: banklink.Products, Since: now.AddDate(0, 0, -90), Now: now}
	check := func(t *testing.T, err error, reason, code string) {
		t.Helper()
		if reason != "" {
			if pe, ok := err.(*banklink.ProviderError); !ok || pe.Reason != reason {
				t.Errorf("err = %#v, want reason %s", err, reason)
			}
			return
		}
		if banklink.ErrorCode(err) != code {
			t.Errorf("err = %v, want code %s", err, code)
		}
	}
	for _, tc := range []struct {
		name, path, code string
		reason, wantCode string
	}{
		{"balance rate limit", "/accounts/balance/get", "BALANCE_LIMIT", "", banklink.ERATELIMITED},
		{"institution down during sync", "/transactions/sync", "INSTITUTION_DOWN", banklink.LoginInstitutionDown, ""},
		{"Plaid maintenance", "/identity/get", "PLANNED_MAINTENANCE", banklink.LoginProviderDown, ""},
		{"holdings not ready", "/investments/holdings/get", "PRODUCT_NOT_READY", banklink.LoginProviderDown, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.fp.FailNext(tc.path, tc.code)
			_, err := e.p.Aggregate(t.Context(), req)
			check(t, err, tc.reason, tc.wantCode)
		})
	}
	t.Run("product not supported is skipped", func(t *testing.T) {
		e.fp.FailNext("/auth/get", "PRODUCTS_NOT_SUPPORTED")
		accts, err := e.p.Aggregate(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range accts {
			if a.Identifiers != nil || a.Balances == nil {
				t.Errorf("%s: identifiers %+v balances %+v", a.Name, a.Identifiers, a.Balances)
			}
		}
	})
	t.Run("login required", func(t *testing.T) {
		e.fp.SetItemError(step.LoginID, "ITEM_LOGIN_REQUIRED")
		defer e.fp.SetItemError(step.LoginID, "")
		_, err := e.p.Aggregate(t.Context(), req)
		check(t, err, banklink.LoginInvalidCredentials, "")
	})
	t.Run("unknown login", func(t *testing.T) {
		_, err := e.p.Aggregate(t.Context(), banklink.AggregationRequest{LoginID: "item-never-linked", Products: banklink.Products, Since: req.Since, Now: now})
		check(t, err, banklink.LoginInvalidCredentials, "")
	})
}

func TestRemoveItem(t *testing.T) {
	e := newEnv(t)
	step, _ := e.link(t, e.institution(t, "ins_109508"), banklink.Balances)
	for range 2 {
		// Removing twice is fine: the second finds the Item gone.
		if err := e.p.RemoveItem(t.Context(), step.LoginID); err != nil {
			t.Fatal(err)
		}
	}
	if !e.fp.Item(step.LoginID).Removed() || e.fp.Calls("/item/remove") != 2 {
		t.Errorf("removed %v after %d calls", e.fp.Item(step.LoginID).Removed(), e.fp.Calls("/item/remove"))
	}
	_, err := e.p.Aggregate(t.Context(), banklink.AggregationRequest{LoginID: step.LoginID, Products: []banklink.Product{banklink.Balances}, Now: time.Now()})
	if pe, ok := err.(*banklink.ProviderError); !ok || pe.Reason != banklink.LoginInvalidCredentials {
		t.Errorf("aggregate after removal = %#v", err)
	}
	if err := e.p.RemoveItem(t.Context(), "item-never-linked"); err != nil {
		t.Errorf("removing an unknown Item = %v", err)
	}
	e.fp.FailNext("/item/remove", "INTERNAL_SERVER_ERROR")
	step2, _ := e.link(t, e.institution(t, "ins_109508"), banklink.Balances)
	if err := e.p.RemoveItem(t.Context(), step2.LoginID); err == nil {
		t.Error("a failed removal reported success")
	}
}

func TestInstitutions(t *testing.T) {
	e := newEnv(t)
	e.fp.InstitutionsPageLimit = 3
	list, err := e.p.Institutions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := len(e.fp.Institutions()); len(list) != want || e.fp.Calls("/institutions/get") < want/3 {
		t.Fatalf("%d institutions in %d pages, want %d", len(list), e.fp.Calls("/institutions/get"), want)
	}
	byName := map[string]*banklink.Institution{}
	for _, in := range list {
		byName[in.Name] = in
		pi, ok := in.Providers["plaid"]
		if !ok || pi.ProviderInstitutionID == "" || !pi.Redirect || pi.Health != banklink.HealthHealthy || in.ID != "" {
			t.Errorf("%s: %+v", in.Name, in)
		}
	}
	for _, tc := range []struct {
		name, products, regions, domain, typ string
	}{
		{"Chase", "[BALANCES OWNERS IDENTIFIERS TRANSACTIONS INVESTMENT_HOLDINGS INVESTMENT_TRANSACTIONS HISTORICAL_TRANSACTIONS]", "[US]", "chase.com", banklink.InstitutionBank},
		{"First Gingham Credit Union", "[BALANCES OWNERS IDENTIFIERS TRANSACTIONS HISTORICAL_TRANSACTIONS]", "[US]", "", banklink.InstitutionCreditUnion},
		{"Vanguard", "[BALANCES OWNERS INVESTMENT_HOLDINGS INVESTMENT_TRANSACTIONS]", "[US]", "investor.vanguard.com", banklink.InstitutionBrokerage},
		{"First Platypus Bank", "[BALANCES OWNERS IDENTIFIERS TRANSACTIONS INVESTMENT_HOLDINGS INVESTMENT_TRANSACTIONS HISTORICAL_TRANSACTIONS]", "[US CA]", "plaid.com", banklink.InstitutionBank},
	} {
		in := byName[tc.name]
		if in == nil {
			t.Errorf("%s missing", tc.name)
			continue
		}
		// Logos (a PNG, kept inline) and the brand colour come with
		// include_optional_metadata.
		if got := fmt.Sprint(in.Providers["plaid"].Products); got != tc.products || fmt.Sprint(in.Regions) != tc.regions || in.Domain != tc.domain ||
			in.Type != tc.typ || !strings.HasPrefix(in.Images.Icon, "data:image/png;base64,iVBORw0KGgo") || in.Images.Color != "#1f1f1f" {
			t.Errorf("%s = %+v products %s", tc.name, in, got)
		}
	}
	for _, tc := range []struct{ status, want string }{
		{"", banklink.HealthHealthy}, {"HEALTHY", banklink.HealthHealthy}, {"DEGRADED", banklink.HealthDegraded}, {"DOWN", banklink.HealthDown},
	} {
		t.Run("health "+tc.status, func(t *testing.T) {
			insts := e.fp.Institutions()
			insts[0].Status = tc.status
			got, err := e.p.InstitutionHealth(t.Context(), insts[0].ID)
			if err != nil || got != tc.want {
				t.Errorf("health = %q %v, want %q", got, err, tc.want)
			}
		})
	}
	if _, err := e.p.InstitutionHealth(t.Context(), "ins_nope"); banklink.ErrorCode(err) != banklink.EPROVIDER {
		t.Errorf("unknown institution: %v", err)
	}
}

func TestRequestLimits(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		block := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-block:
			}
		}))
		defer srv.Close()
		defer close(block)
		p, err := New(Config{ClientID: "c", Secret: "s", BaseURL: srv.URL, Secrets: &memSecrets{}, Timeout: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Institutions(t.Context())
		if pe, ok := err.(*banklink.ProviderError); !ok || pe.Reason != banklink.LoginProviderDown {
			t.Errorf("err = %#v", err)
		}
	})
	t.Run("answer too large", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"accounts":"`))
			w.Write(bytes.Repeat([]byte("x"), maxResponse+10))
			w.Write([]byte(`"}`))
		}))
		defer srv.Close()
		p, err := New(Config{ClientID: "c", Secret: "s", BaseURL: srv.URL, Secrets: &memSecrets{}})
		if err != nil {
			t.Fatal(err)
		}
		var out any
		if err := p.call(t.Context(), "/accounts/get", struct{}{}, &out, maxResponse); banklink.ErrorCode(err) != banklink.EPROVIDER {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("requests carry the keys in the body", func(t *testing.T) {
		var got map[string]any
		var header http.Header
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			header = r.Header
			json.NewDecoder(r.Body).Decode(&got)
			w.Write([]byte(`{}`))
		}))
		defer srv.Close()
		p, err := New(Config{ClientID: "cid", Secret: "sec", BaseURL: srv.URL, Secrets: &memSecrets{}})
		if err != nil {
			t.Fatal(err)
		}
		var out any
		if err := p.call(t.Context(), "/item/get", struct {
			AccessToken string `json:"access_token"`
		}{"tok"}, &out, maxResponse); err != nil {
			t.Fatal(err)
		}
		if got["client_id"] != "cid" || got["secret"] != "sec" || got["access_token"] != "tok" ||
			header.Get("Content-Type") != "application/json" || header.Get("Plaid-Version") != APIVersion {
			t.Errorf("body %v header %v", got, header)
		}
	})
	t.Run("error without Plaid's error object", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "bad gateway", http.StatusBadGateway)
		}))
		defer srv.Close()
		p, _ := New(Config{ClientID: "c", Secret: "s", BaseURL: srv.URL, Secrets: &memSecrets{}})
		if _, err := p.Institutions(t.Context()); banklink.ErrorCode(err) != banklink.EPROVIDER {
			t.Errorf("err = %v", err)
		}
	})
}

// TestEndpointTimeouts: the endpoints Plaid documents as slower get
// longer than the others, so a slow real-time balance is not cut off at
// the timeout of every other call.
func TestEndpointTimeouts(t *testing.T) {
	t.Run("per endpoint", func(t *testing.T) {
		p, err := New(Config{ClientID: "c", Secret: "s", Environment: "sandbox", Secrets: &memSecrets{}})
		if err != nil {
			t.Fatal(err)
		}
		short, err := New(Config{ClientID: "c", Secret: "s", Environment: "sandbox", Secrets: &memSecrets{}, Timeout: time.Second,
			Timeouts: map[string]time.Duration{"/investments/transactions/get": 5 * time.Minute}})
		if err != nil {
			t.Fatal(err)
		}
		long, _ := New(Config{ClientID: "c", Secret: "s", Environment: "sandbox", Secrets: &memSecrets{}, Timeout: 4 * time.Minute})
		for _, tc := range []struct {
			name string
			p    *Provider
			path string
			want time.Duration
		}{
			{"an ordinary endpoint", p, "/transactions/sync", DefaultTimeout},
			{"real-time balance", p, "/accounts/balance/get", 90 * time.Second},
			{"investment transactions", p, "/investments/transactions/get", 150 * time.Second},
			{"a shorter default", short, "/auth/get", time.Second},
			{"a shorter default leaves balance alone", short, "/accounts/balance/get", 90 * time.Second},
			{"a path's own", short, "/investments/transactions/get", 5 * time.Minute},
			{"a longer default wins", long, "/accounts/balance/get", 4 * time.Minute},
		} {
			if got := tc.p.timeoutFor(tc.path); got != tc.want {
				t.Errorf("%s: %s gets %v, want %v", tc.name, tc.path, got, tc.want)
			}
		}
		// No client-wide timeout under the per-endpoint ones.
		if p.http.Timeout != 0 {
			t.Errorf("the default HTTP client times out after %v", p.http.Timeout)
		}
	})
	t.Run("a slow balance is waited for", func(t *testing.T) {
		e := newEnv(t)
		step, _ := e.link(t, e.institution(t, "ins_109508"), banklink.Balances)
		// Every other call must answer within 50ms; the balance takes
		// longer, as Plaid says it may.
		p := e.provider(t, func(c *Config) { c.Timeout = 50 * time.Millisecond })
		e.fp.SetLatency("/accounts/balance/get", 300*time.Millisecond)
		req := banklink.AggregationRequest{LoginID: step.LoginID, Products: []banklink.Product{banklink.Balances}, Now: time.Now()}
		accts, err := p.Aggregate(t.Context(), req)
		if err != nil || len(accts) == 0 || accts[0].Balances == nil {
			t.Fatalf("aggregate with a slow balance: %v, %+v", err, accts)
		}
		// Other endpoints keep the short timeout.
		e.fp.SetLatency("/accounts/get", 300*time.Millisecond)
		if _, err := p.getAccounts(t.Context(), e.fp.Item(step.LoginID).AccessToken, nil, false); codeOf(err) != "" || err == nil {
			t.Errorf("a slow /accounts/get: %v, want a timeout", err)
		}
	})
}

// TestCapitalOneBalances: Capital One has no real-time balance for its
// cards and loans; /accounts/balance/get then needs the oldest balance
// acceptable, and an older one is read from the cached balances.
func TestCapitalOneBalances(t *testing.T) {
	e := newEnv(t)
	in := e.institution(t, fakeplaid.CapitalOne)
	step, _ := e.link(t, in, banklink.Balances, banklink.Transactions)
	it := e.fp.Item(step.LoginID)
	var card *fakeplaid.Account
	for _, a := range it.Accounts {
		if a.Type == "credit" {
			card = a
		}
	}
	now := time.Now()
	req := banklink.AggregationRequest{Institution: in, LoginID: step.LoginID, Products: []banklink.Product{banklink.Balances}, Now: now}
	balanceOf := func(accts []banklink.AggregatedAccount, id string) *banklink.AccountBalances {
		for _, a := range accts {
			if a.ProviderAccountID == id {
				return a.Balances
			}
		}
		return nil
	}

	accts, err := e.p.Aggregate(t.Context(), req)
	if err != nil {
		t.Fatalf("balances at Capital One: %v", err)
	}
	if b := balanceOf(accts, card.ID); b == nil || b.CurrentAmount != *card.Current || !b.UpdatedAt.Equal(*card.LastUpdated) {
		t.Errorf("the card's balance %+v, want %v as of %v", b, *card.Current, card.LastUpdated)
	}
	if b := balanceOf(accts, it.Accounts[0].ID); b == nil || !b.UpdatedAt.Equal(now.UTC().Truncate(time.Second)) {
		t.Errorf("the checking account's real-time balance %+v", b)
	}

	// No balance as recent as a day: the cached ones, with their age.
	old := now.Add(-72 * time.Hour).UTC().Truncate(time.Second)
	e.fp.Mutate(step.LoginID, func(it *fakeplaid.Item) { card.LastUpdated = &old })
	cached := e.fp.Calls("/accounts/get")
	accts, err = e.p.Aggregate(t.Context(), req)
	if err != nil {
		t.Fatalf("balances older than a day: %v", err)
	}
	if b := balanceOf(accts, card.ID); b == nil || !b.UpdatedAt.Equal(old) || e.fp.Calls("/accounts/get") != cached+1 {
		t.Errorf("the card's cached balance %+v (%d /accounts/get), want it as of %v", b, e.fp.Calls("/accounts/get")-cached, old)
	}
}

// TestInvalidFieldIsNotACursorProblem: only /transactions/sync's
// INVALID_FIELD means the saved cursor is refused; another call's does
// not make the aggregation read the whole history again.
func TestInvalidFieldIsNotACursorProblem(t *testing.T) {
	e := newEnv(t)
	in := e.institution(t, "ins_109508")
	step, _ := e.link(t, in, banklink.Balances, banklink.Transactions)
	now := time.Now()
	req := banklink.AggregationRequest{Institution: in, LoginID: step.LoginID, Products: []banklink.Product{banklink.Balances, banklink.Transactions},
		Since: now.AddDate(0, -24, 0), Now: now}
	full, err := e.p.AggregateFrom(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	req.ProviderState = full.State
	balances, syncs := e.fp.Calls("/accounts/balance/get"), e.fp.Calls("/transactions/sync")
	e.fp.FailNext("/accounts/balance/get", "INVALID_FIELD")
	_, err = e.p.AggregateFrom(t.Context(), req)
	if be, ok := err.(*banklink.Error); !ok || be.Code != banklink.EPROVIDER || be.Reason != "INVALID_FIELD" {
		t.Errorf("err = %v, want Plaid's INVALID_FIELD as a provider error", err)
	}
	if b, s := e.fp.Calls("/accounts/balance/get")-balances, e.fp.Calls("/transactions/sync")-syncs; b != 1 || s != 0 {
		t.Errorf("%d balance calls and %d sync pages after a balance's INVALID_FIELD, want 1 and 0", b, s)
	}
}

// TestRateLimits: Plaid's per-Item rate limits answer 429 with
// RATE_LIMIT_EXCEEDED and the endpoint's code, which banklink passes on
// as RATE_LIMITED; the next minute the calls go through again.
func TestRateLimits(t *testing.T) {
	e := newEnv(t)
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	e.fp.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	in := e.institution(t, "ins_109508")
	step, _ := e.link(t, in, banklink.Balances)
	e.fp.SetRateLimit("/accounts/balance/get", 2)
	req := banklink.AggregationRequest{Institution: in, LoginID: step.LoginID, Products: []banklink.Product{banklink.Balances}, Now: time.Now()}
	for i := range 2 {
		if _, err := e.p.Aggregate(t.Context(), req); err != nil {
			t.Fatalf("aggregation %d within the limit: %v", i+1, err)
		}
	}
	_, err := e.p.Aggregate(t.Context(), req)
	if be, ok := err.(*banklink.Error); !ok || be.Code != banklink.ERATELIMITED || be.Reason != "BALANCE_LIMIT" || !be.Retryable {
		t.Errorf("third aggregation in a minute = %v, want RATE_LIMITED / BALANCE_LIMIT", err)
	}
	clock.Add(int64(time.Minute))
	if _, err := e.p.Aggregate(t.Context(), req); err != nil {
		t.Errorf("a minute later: %v", err)
	}
}
