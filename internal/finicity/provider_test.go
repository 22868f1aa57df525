package finicity_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/dirsync"
	"banklink/internal/finicity"
	"banklink/internal/finicity/fakefinicity"
)

func newProvider(t *testing.T, fake *fakefinicity.Server, cfg finicity.Config) *finicity.Provider {
	t.Helper()
	if cfg.PartnerID == "" {
		cfg.PartnerID, cfg.PartnerSecret, cfg.AppKey = fake.PartnerID, fake.PartnerSecret, fake.AppKey
	}
	cfg.BaseURL = fake.URL
	if cfg.Now == nil {
		cfg.Now = fake.Now
	}
	return finicity.New(cfg)
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

var formAction = regexp.MustCompile(`action="([^"]+)"`)

// connect plays the customer in the fake Data Connect: the page at link,
// the sign-in with password. It returns the last answer (a redirect to
// redirectUri, or a page).
func connect(t *testing.T, fake *fakefinicity.Server, link, password string) *http.Response {
	t.Helper()
	page, err := noRedirects.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	m := formAction.FindSubmatch(html)
	if page.StatusCode != 200 || m == nil {
		t.Fatalf("Data Connect: %d %s", page.StatusCode, html)
	}
	resp, err := noRedirects.PostForm(fake.URL+string(m[1]), url.Values{"username": {"demo"}, "password": {password}, "action": {"submit"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func finbank() *banklink.Institution {
	return &banklink.Institution{Name: "FinBank Profiles - A", Regions: []banklink.Region{"US"}, Providers: map[string]banklink.ProviderInstitution{
		finicity.ProviderType: {ProviderInstitutionID: "102105", Products: []banklink.Product{banklink.Balances, banklink.Transactions, banklink.Identifiers,
			banklink.Owners, banklink.InvestmentHoldings, banklink.InvestmentTransactions}, Redirect: true, Health: banklink.HealthHealthy}}}
}

// link runs a whole login against the fake and returns the login step.
func link(t *testing.T, fake *fakefinicity.Server, p *finicity.Provider, customer, password string) (banklink.LoginRequest, *banklink.LoginStep, error) {
	t.Helper()
	cid, err := p.CreateUser(t.Context(), nil, customer)
	if err != nil {
		t.Fatal(err)
	}
	req := banklink.LoginRequest{Institution: finbank(), ProviderInstitutionID: "102105", ProviderUserID: cid,
		CallbackURL: "https://banklink.example/connect?oauth=callback", Now: time.Now()}
	start, err := p.StartLogin(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	resp := connect(t, fake, start.RedirectURL, password)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != req.CallbackURL {
		t.Fatalf("Data Connect ended with %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	step, err := p.CompleteRedirect(t.Context(), req, map[string]string{})
	return req, step, err
}

func TestLinkAndAggregate(t *testing.T) {
	fake := fakefinicity.New(t)
	p := newProvider(t, fake, finicity.Config{Testing: true, WebhookURL: "https://banklink.example/providers/finicity/webhooks"})
	req, step, err := link(t, fake, p, "customer@example.com", fakefinicity.PasswordGood)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := fake.Customer(finicity.Username("customer@example.com"))
	if !ok || c.Type != "testing" {
		t.Fatalf("customer %+v %v", c, ok)
	}
	logins := fake.Logins(c.ID)
	if len(logins) != 1 || step.LoginID != c.ID+"/"+logins[0] || len(step.Accounts) != 4 {
		t.Fatalf("step = %+v (logins %v)", step, logins)
	}
	var ids []string
	for _, a := range step.Accounts {
		ids = append(ids, a.ID)
	}
	accts, err := p.Aggregate(t.Context(), banklink.AggregationRequest{Institution: req.Institution, LoginID: step.LoginID, AccountIDs: ids,
		Products: []banklink.Product{banklink.Balances, banklink.Identifiers, banklink.Owners, banklink.Transactions, banklink.InvestmentHoldings},
		Since:    time.Now().AddDate(0, 0, -90), Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]banklink.AggregatedAccount{}
	for _, a := range accts {
		byName[a.Name] = a
	}
	checking, card, roth := byName["Checking"], byName["Credit Card"], byName["ROTH"]
	if checking.Type != "DEPOSITORY" || checking.Subtype != "CHECKING" || checking.Balances.CurrentAmount != 1234.56 ||
		checking.Identifiers == nil || checking.Identifiers.ACH.RoutingNumber != "021000021" || len(checking.Owners) != 1 ||
		checking.Owners[0].Names[0] != "PATRICK PURCHASER" || len(checking.Raw) == 0 {
		t.Errorf("checking = %+v", checking)
	}
	// Every page of transactions, pending and shadow ones included.
	if got, want := len(checking.Transactions), fakefinicity.CheckingTransactions+3; got != want {
		t.Errorf("checking has %d transactions, want %d", got, want)
	}
	statuses := map[string]int{}
	for _, tx := range checking.Transactions {
		statuses[tx.Status]++
		if tx.Description == "PAYROLL ACME" && tx.Amount >= 0 {
			t.Errorf("a paycheck is money in: %+v", tx)
		}
		if tx.Description == "GROCERY MART" && tx.Amount <= 0 {
			t.Errorf("groceries are money out: %+v", tx)
		}
	}
	if statuses["PENDING"] != 2 || statuses[finicity.TxShadow] != 1 {
		t.Errorf("statuses = %v", statuses)
	}
	if card.Type != "CREDIT" || card.Balances.CurrentAmount != 250.75 || *card.Balances.AvailableAmount != 4749.25 || card.Identifiers != nil {
		t.Errorf("card = %+v %+v", card, card.Balances)
	}
	if roth.Type != "INVESTMENT" || roth.Subtype != "ROTH" || len(roth.Holdings) != 2 || roth.Holdings[0].Symbol != "DAL" || len(roth.Holdings[0].Raw) == 0 {
		t.Errorf("roth = %+v", roth)
	}
	// Right after Connect the data is fresh: no refresh was asked for.
	if n := fake.Calls("POST /aggregation/v1/customers/{customerId}/institutionLogins/{institutionLoginId}/accounts"); n != 0 {
		t.Errorf("%d refreshes", n)
	}
	// The added event was recorded for banklink's webhook URL, signed.
	hooks := fake.Webhooks()
	if len(hooks) != 1 || hooks[0].EventType != "added" || hooks[0].URL != "https://banklink.example/providers/finicity/webhooks" {
		t.Errorf("webhooks = %+v", hooks)
	}
}

// TestCustomers: a customer per app customer, enrolled once (409 finds
// it), testing or active by configuration.
func TestCustomers(t *testing.T) {
	fake := fakefinicity.New(t)
	active := newProvider(t, fake, finicity.Config{})
	id, err := active.CreateUser(t.Context(), nil, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := fake.Customer(finicity.Username("c1")); c.ID != id || c.Type != "active" {
		t.Errorf("customer = %+v, id %s", c, id)
	}
	// Another process (no cache): Finicity answers 409, the customer is
	// found by username.
	again, err := newProvider(t, fake, finicity.Config{}).CreateUser(t.Context(), nil, "c1")
	if err != nil || again != id {
		t.Errorf("again = %q, %v; want %q", again, err, id)
	}
	if _, err := active.CreateUser(t.Context(), nil, " "); banklink.ErrorCode(err) != banklink.EINTERNAL {
		t.Errorf("empty id: %v", err)
	}
	unconfigured := finicity.New(finicity.Config{BaseURL: fake.URL})
	var pe *banklink.ProviderError
	if _, err := unconfigured.CreateUser(t.Context(), nil, "c2"); !errors.As(err, &pe) || pe.Reason != banklink.LoginProviderDown {
		t.Errorf("unconfigured: %v", err)
	}
}

// TestTokens: one token is reused until it is 90 minutes old; a token
// Finicity no longer accepts (401) is renewed once.
func TestTokens(t *testing.T) {
	fake := fakefinicity.New(t)
	p := newProvider(t, fake, finicity.Config{})
	auth := "POST /aggregation/v2/partners/authentication"
	for i := range 3 {
		if _, err := p.CreateUser(t.Context(), nil, "tok"+string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := fake.Calls(auth); n != 1 {
		t.Errorf("%d authentications for three calls, want 1", n)
	}
	fake.Advance(finicity.TokenLifetime)
	if _, err := p.CreateUser(t.Context(), nil, "tokd"); err != nil {
		t.Fatal(err)
	}
	if n := fake.Calls(auth); n != 2 {
		t.Errorf("%d authentications after 90 minutes, want 2", n)
	}
	fake.RevokeTokens()
	if _, err := p.CreateUser(t.Context(), nil, "toke"); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	if n := fake.Calls(auth); n != 3 {
		t.Errorf("%d authentications after a 401, want 3", n)
	}
	// Wrong credentials: EPROVIDER, not retried forever.
	bad := newProvider(t, fake, finicity.Config{PartnerID: fake.PartnerID, PartnerSecret: "wrong-secret-12345", AppKey: fake.AppKey})
	if _, err := bad.CreateUser(t.Context(), nil, "c"); banklink.ErrorCode(err) != banklink.EPROVIDER {
		t.Errorf("wrong secret: %v", err)
	}
	// An account's own credentials are used for its requests.
	other := newProvider(t, fake, finicity.Config{PartnerID: "nobody", PartnerSecret: "nothing-at-all-1", AppKey: "none"})
	creds := map[string]string{finicity.CredentialPartnerID: fake.PartnerID, finicity.CredentialPartnerSecret: fake.PartnerSecret, finicity.CredentialAppKey: fake.AppKey}
	if _, err := other.CreateUser(t.Context(), creds, "own-keys"); err != nil {
		t.Errorf("account credentials: %v", err)
	}
}

// TestLoginOutcomes: what Data Connect did, read back from Finicity.
func TestLoginOutcomes(t *testing.T) {
	fake := fakefinicity.New(t)
	p := newProvider(t, fake, finicity.Config{})
	// Accounts added with a user action pending at the institution.
	_, _, err := link(t, fake, p, "action", fakefinicity.PasswordUserAction)
	var pe *banklink.ProviderError
	if !errors.As(err, &pe) || pe.Reason != banklink.LoginLocked {
		t.Errorf("user action: %v", err)
	}
	// The customer left Connect without adding accounts.
	cid, _ := p.CreateUser(t.Context(), nil, "leaver")
	req := banklink.LoginRequest{Institution: finbank(), ProviderInstitutionID: "102105", ProviderUserID: cid, CallbackURL: "https://banklink.example/cb"}
	if _, err := p.CompleteRedirect(t.Context(), req, nil); !errors.As(err, &pe) || pe.Reason != banklink.LoginOAuthDenied {
		t.Errorf("nothing added: %v", err)
	}
	// Embedded: Connect in a frame on its own origin, done by message.
	emb := newProvider(t, fake, finicity.Config{Embed: true})
	start, err := emb.StartLogin(t.Context(), req)
	if err != nil || start.Embed == nil || start.Embed.Origin != fake.URL || !slices.Equal(start.Embed.DoneEvents, []string{"done"}) ||
		!slices.Equal(emb.FrameOrigins(), []string{fake.URL}) || strings.Contains(start.RedirectURL, "redirectUri") {
		t.Fatalf("embedded start = %+v, %v", start, err)
	}
	page := connect(t, fake, start.RedirectURL, fakefinicity.PasswordGood)
	if page.StatusCode != 200 {
		t.Errorf("embedded Connect ended with %d", page.StatusCode)
	}
	if step, err := emb.CompleteRedirect(t.Context(), req, map[string]string{"event": "done"}); err != nil || len(step.Accounts) != 4 {
		t.Errorf("embedded complete = %+v, %v", step, err)
	}
	if p.FrameOrigins() != nil {
		t.Errorf("redirect mode frames %v", p.FrameOrigins())
	}
	// Down at the institution: refused before Connect.
	down := finbank()
	pi := down.Providers[finicity.ProviderType]
	pi.Health = banklink.HealthDown
	down.Providers[finicity.ProviderType] = pi
	if _, err := p.StartLogin(t.Context(), banklink.LoginRequest{Institution: down, ProviderInstitutionID: "102105", ProviderUserID: cid}); !errors.As(err, &pe) || pe.Reason != banklink.LoginInstitutionDown {
		t.Errorf("down: %v", err)
	}
	if _, err := p.SubmitCredentials(t.Context(), req); banklink.ErrorCode(err) != banklink.ENOTSUPPORTED {
		t.Errorf("credentials: %v", err)
	}
}

// TestRepair: Connect Fix on the connection's institution login keeps
// the login and fixes its accounts.
func TestRepair(t *testing.T) {
	fake := fakefinicity.New(t)
	p := newProvider(t, fake, finicity.Config{})
	req, step, err := link(t, fake, p, "repair", fakefinicity.PasswordGood)
	if err != nil {
		t.Fatal(err)
	}
	_, login, _ := strings.Cut(step.LoginID, "/")
	fake.SetStatusCode(login, 103)
	fake.Advance(2 * time.Hour)
	_, err = p.Aggregate(t.Context(), banklink.AggregationRequest{Institution: req.Institution, LoginID: step.LoginID, Products: []banklink.Product{banklink.Balances}})
	var pe *banklink.ProviderError
	if !errors.As(err, &pe) || pe.Reason != banklink.LoginInvalidCredentials || pe.Retryable {
		t.Fatalf("changed password: %v", err)
	}
	req.RepairLoginID = step.LoginID
	start, err := p.StartLogin(t.Context(), req)
	if err != nil || !strings.Contains(start.RedirectURL, "type=fix") {
		t.Fatalf("repair start = %+v, %v", start, err)
	}
	connect(t, fake, start.RedirectURL, fakefinicity.PasswordGood)
	fixed, err := p.CompleteRedirect(t.Context(), req, nil)
	if err != nil || fixed.LoginID != step.LoginID || len(fixed.Accounts) != 4 {
		t.Errorf("repaired = %+v, %v", fixed, err)
	}
}

// TestRefreshAndRemoval: refreshes are asked for only when the last
// aggregation is MinRefreshInterval old (NextRefresh says when), and
// deleting the connection deletes the institution login.
func TestRefreshAndRemoval(t *testing.T) {
	fake := fakefinicity.New(t)
	p := newProvider(t, fake, finicity.Config{})
	req, step, err := link(t, fake, p, "refresh", fakefinicity.PasswordGood)
	if err != nil {
		t.Fatal(err)
	}
	now := fake.Now()
	next, err := p.NextRefresh(t.Context(), step.LoginID, nil, now)
	if err != nil || next.Sub(now) <= 0 || next.Sub(now) > finicity.DefaultMinRefreshInterval {
		t.Errorf("next refresh %v after %v, %v", next, now, err)
	}
	fake.Advance(finicity.DefaultMinRefreshInterval)
	if next, err := p.NextRefresh(t.Context(), step.LoginID, nil, fake.Now()); err != nil || !next.IsZero() {
		t.Errorf("after the interval: %v, %v", next, err)
	}
	agg := banklink.AggregationRequest{Institution: req.Institution, LoginID: step.LoginID, Products: []banklink.Product{banklink.Balances}, Now: fake.Now()}
	if _, err := p.Aggregate(t.Context(), agg); err != nil {
		t.Fatal(err)
	}
	refresh := "POST /aggregation/v1/customers/{customerId}/institutionLogins/{institutionLoginId}/accounts"
	if n := fake.Calls(refresh); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	if _, err := p.Aggregate(t.Context(), agg); err != nil || fake.Calls(refresh) != 1 {
		t.Errorf("a second aggregation refreshed again: %v, %d", err, fake.Calls(refresh))
	}
	if err := p.RemoveLogin(t.Context(), step.LoginID, nil); err != nil {
		t.Fatal(err)
	}
	cid, login, _ := strings.Cut(step.LoginID, "/")
	if l, _ := fake.LoginOf(login); !l.Deleted || len(fake.Logins(cid)) != 0 {
		t.Errorf("login %+v not deleted", l)
	}
	// Already gone: deleted is deleted.
	if err := p.RemoveLogin(t.Context(), step.LoginID, nil); err != nil {
		t.Errorf("second removal: %v", err)
	}
	// Aggregating a deleted login asks for a new one.
	var pe *banklink.ProviderError
	if _, err := p.Aggregate(t.Context(), agg); !errors.As(err, &pe) || pe.Reason != banklink.LoginInvalidCredentials {
		t.Errorf("deleted login: %v", err)
	}
}

// TestInstitutions: the directory, paged, with a page Finicity turns
// down retried, mapped with products and health.
func TestInstitutions(t *testing.T) {
	fake := fakefinicity.New(t)
	var list []fakefinicity.Institution
	for i := range 2500 {
		list = append(list, fakefinicity.Institution{ID: int64(200000 + i), Name: "Bank " + string(rune('A'+i%26)) + " " + time.Duration(i).String(),
			URL: "https://bank.example", Status: "online", AccountTypeDesc: "Banking", TransAgg: true, ACH: i%2 == 0})
	}
	list = append(list, fakefinicity.Directory()...)
	fake.SetInstitutions(list)
	fake.Fail(fakefinicity.Failure{Method: "GET", Path: "/institution/v2/institutions", Status: 503, Code: "0", Message: "unavailable"})
	p := newProvider(t, fake, finicity.Config{})
	retries := 0
	insts, err := dirsync.Fetch(t.Context(), p, dirsync.Retry{Sleep: func(context.Context, time.Duration) error { return nil },
		OnRetry: func(int, time.Duration, error) { retries++ }})
	if err != nil {
		t.Fatal(err)
	}
	if retries != 1 || fake.Calls("GET /institution/v2/institutions") != 4 {
		t.Errorf("%d retries, %d reads (3 pages and a retry expected)", retries, fake.Calls("GET /institution/v2/institutions"))
	}
	// Without transaction aggregation an institution is left out.
	if len(insts) != len(list)-1 {
		t.Fatalf("%d institutions, want %d", len(insts), len(list)-1)
	}
	byName := map[string]*banklink.Institution{}
	for _, in := range insts {
		byName[in.Name] = in
	}
	fin := byName["FinBank Profiles - A"].Providers[finicity.ProviderType]
	if fin.ProviderInstitutionID != "102105" || !fin.Redirect || fin.Health != banklink.HealthHealthy || !byName["FinBank Profiles - A"].IsTest ||
		!banklink.NewProductSet(fin.Products...).Has(banklink.InvestmentHoldings) || !banklink.NewProductSet(fin.Products...).Has(banklink.Identifiers) {
		t.Errorf("FinBank = %+v", fin)
	}
	if h := byName["FinBank Down"].Providers[finicity.ProviderType].Health; h != banklink.HealthDown {
		t.Errorf("maintenance health = %s", h)
	}
	if byName["Chase"].Domain != "chase.com" {
		t.Errorf("Chase domain = %q", byName["Chase"].Domain)
	}
	// Refused credentials are not retried.
	bad := newProvider(t, fake, finicity.Config{PartnerID: fake.PartnerID, PartnerSecret: "wrong-secret-12345", AppKey: fake.AppKey})
	if _, err := dirsync.Fetch(t.Context(), bad, dirsync.Retry{Sleep: func(context.Context, time.Duration) error { return nil }}); banklink.ErrorCode(err) != banklink.EPROVIDER {
		t.Errorf("wrong secret: %v", err)
	}
}

// TestOwnPartnerSessions: an account with its own Finicity partner links
// with its keys, and its Connect sessions get no webhook URL (Finicity
// would sign them with that partner's secret, which banklink does not
// verify with).
func TestOwnPartnerSessions(t *testing.T) {
	fake := fakefinicity.New(t)
	p := newProvider(t, fake, finicity.Config{PartnerID: "2445589999999", PartnerSecret: "deployment-secret-1", AppKey: "deployment-key",
		WebhookURL: "https://banklink.example/providers/finicity/webhooks"})
	creds := map[string]string{finicity.CredentialPartnerID: fake.PartnerID, finicity.CredentialPartnerSecret: fake.PartnerSecret, finicity.CredentialAppKey: fake.AppKey}
	cid, err := p.CreateUser(t.Context(), creds, "own-partner")
	if err != nil {
		t.Fatal(err)
	}
	req := banklink.LoginRequest{Institution: finbank(), ProviderInstitutionID: "102105", ProviderUserID: cid, ProviderCredentials: creds,
		CallbackURL: "https://banklink.example/connect?oauth=callback"}
	start, err := p.StartLogin(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	connect(t, fake, start.RedirectURL, fakefinicity.PasswordGood)
	step, err := p.CompleteRedirect(t.Context(), req, nil)
	if err != nil || len(step.Accounts) != 4 {
		t.Fatalf("own partner login: %+v, %v", step, err)
	}
	if hooks := fake.Webhooks(); len(hooks) != 0 {
		t.Errorf("a session under the account's partner was given banklink's webhook URL: %+v", hooks)
	}
}

// TestPendingStampedLaterToday: Finicity dates today's transactions at
// noon, so a read in the morning must still see today's pending ones
// (it missed them before noon UTC, failing CI in the morning).
func TestPendingStampedLaterToday(t *testing.T) {
	fake := fakefinicity.New(t)
	now := fake.Now()
	morning := time.Date(now.Year(), now.Month(), now.Day(), 7, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	fake.Advance(morning.Sub(now))
	p := newProvider(t, fake, finicity.Config{Testing: true, Now: fake.Now})
	req, step, err := link(t, fake, p, "morning@example.com", fakefinicity.PasswordGood)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range step.Accounts {
		ids = append(ids, a.ID)
	}
	accts, err := p.Aggregate(t.Context(), banklink.AggregationRequest{Institution: req.Institution, LoginID: step.LoginID, AccountIDs: ids,
		Products: []banklink.Product{banklink.Balances, banklink.Transactions}, Since: fake.Now().AddDate(0, 0, -90), Now: fake.Now()})
	if err != nil {
		t.Fatal(err)
	}
	pending := 0
	for _, a := range accts {
		for _, tx := range a.Transactions {
			if tx.Status == banklink.TxPending {
				pending++
			}
		}
	}
	if pending != 2 {
		t.Errorf("at 07:00 UTC the read holds %d pending transactions, want the 2 stamped at noon", pending)
	}
}
