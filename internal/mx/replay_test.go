package mx_test

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/contract"
	"banklink/internal/mx"
)

// The replay tests feed the examples of MX's official spec (read from the
// spec at test time; MX gives them per property, composed into an answer
// by contract.MX.Example) through banklink's decoders and mappers, one
// endpoint each, and check that what banklink makes of them holds the
// example's values.

// mxExample is the spec's example answer of method path, as bytes and
// decoded.
func mxExample(t *testing.T, method, path string) ([]byte, map[string]any) {
	t.Helper()
	raw := contract.MX.Example(t, method, path)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return raw, m
}

// answer is a replayed answer: a status and a body.
type answer struct {
	status int
	body   []byte
}

// mxReplay is a provider talking to an MX answering each route (a
// ServeMux pattern such as "GET /users/{user_guid}/members") as given.
func mxReplay(t *testing.T, now time.Time, routes map[string]answer) *mx.Provider {
	t.Helper()
	mux := http.NewServeMux()
	for pattern, a := range routes {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", mx.MediaType)
			w.WriteHeader(a.status)
			w.Write(a.body)
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected call: %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return mx.New(mx.Config{ClientID: "c", APIKey: "k", BaseURL: srv.URL, Redirect: true, Now: func() time.Time { return now },
		PollInterval: time.Millisecond, MaxPollInterval: time.Millisecond})
}

func ok(body []byte) answer { return answer{http.StatusOK, body} }

// Accessors of decoded JSON.
func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }
func list(v any) []any         { l, _ := v.([]any); return l }
func str(v any) string         { s, _ := v.(string); return s }
func num(v any) float64        { f, _ := v.(float64); return f }

// first is the first element of the list under key.
func first(m map[string]any, key string) map[string]any { return obj(list(m[key])[0]) }

// exampleMember is the spec's member and the time it was last aggregated.
func exampleMember(t *testing.T) (map[string]any, time.Time) {
	t.Helper()
	_, ex := mxExample(t, "GET", "/users/{user_guid}/members/{member_guid}")
	m := obj(ex["member"])
	at, err := time.Parse(time.RFC3339, str(m["aggregated_at"]))
	if err != nil {
		t.Fatal(err)
	}
	return m, at
}

// withAccount is the accounts example with its account's guid set to
// guid: the examples of the data lists name other accounts than the
// accounts example.
func withAccount(t *testing.T, guid string) []byte {
	t.Helper()
	_, ex := mxExample(t, "GET", "/users/{user_guid}/members/{member_guid}/accounts")
	first(ex, "accounts")["guid"] = guid
	b, _ := json.Marshal(ex)
	return b
}

// everywhere is an institution where MX offers every product.
var everywhere = &banklink.Institution{ID: "inst", Name: "MX Bank", Regions: []banklink.Region{"US"},
	Providers: map[string]banklink.ProviderInstitution{mx.ProviderType: {ProviderInstitutionID: "mxbank",
		Products: []banklink.Product{banklink.Balances, banklink.Identifiers, banklink.Owners, banklink.Transactions, banklink.InvestmentHoldings}}}}

func TestReplayCreateUser(t *testing.T) {
	raw, ex := mxExample(t, "POST", "/users")
	p := mxReplay(t, time.Now(), map[string]answer{"POST /users": ok(raw)})
	guid, err := p.CreateUser(t.Context(), nil, "customer")
	if err != nil || guid != str(obj(ex["user"])["guid"]) {
		t.Errorf("CreateUser = %q %v, want the example's %v", guid, err, ex["user"])
	}
}

func TestReplayListUsers(t *testing.T) {
	raw, ex := mxExample(t, "GET", "/users")
	u := first(ex, "users")
	// The user exists (409): it is looked up by id.
	p := mxReplay(t, time.Now(), map[string]answer{"POST /users": {http.StatusConflict, []byte(`{"error":{"message":"exists"}}`)}, "GET /users": ok(raw)})
	guid, err := p.CreateUser(t.Context(), nil, str(u["id"]))
	if err != nil || guid != str(u["guid"]) {
		t.Errorf("CreateUser of an existing user = %q %v, want the example's %v", guid, err, u)
	}
}

func TestReplayWidgetURL(t *testing.T) {
	raw, ex := mxExample(t, "POST", "/users/{user_guid}/widget_urls")
	p := mxReplay(t, time.Now(), map[string]answer{"POST /users/{user_guid}/widget_urls": ok(raw)})
	start, err := p.StartLogin(t.Context(), banklink.LoginRequest{Institution: everywhere, ProviderInstitutionID: "mxbank", ProviderUserID: "USR-1",
		Products: []banklink.Product{banklink.Transactions}, CallbackURL: "https://banklink.test/cb"})
	if err != nil || start.RedirectURL != str(obj(ex["widget_url"])["url"]) {
		t.Errorf("StartLogin = %+v %v, want the example's %v", start, err, ex["widget_url"])
	}
}

// loginRoutes answer a login's calls with the examples: the member, its
// status and its accounts.
func loginRoutes(t *testing.T) map[string]answer {
	member, _ := mxExample(t, "GET", "/users/{user_guid}/members/{member_guid}")
	status, _ := mxExample(t, "GET", "/users/{user_guid}/members/{member_guid}/status")
	accounts, _ := mxExample(t, "GET", "/users/{user_guid}/members/{member_guid}/accounts")
	return map[string]answer{
		"GET /users/{user_guid}/members/{member_guid}":          ok(member),
		"GET /users/{user_guid}/members/{member_guid}/status":   ok(status),
		"GET /users/{user_guid}/members/{member_guid}/accounts": ok(accounts),
	}
}

// checkLoginStep compares a login's accounts with the accounts example.
func checkLoginStep(t *testing.T, step *banklink.LoginStep, memberGUID string) {
	t.Helper()
	_, ex := mxExample(t, "GET", "/users/{user_guid}/members/{member_guid}/accounts")
	a := first(ex, "accounts")
	num := str(a["account_number"])
	want := banklink.ProviderAccount{ID: str(a["guid"]), Name: str(a["name"]), Type: "DEPOSITORY", Subtype: str(a["type"]), Mask: num[max(0, len(num)-4):]}
	if str(a["type"]) != "SAVINGS" || str(a["subtype"]) != "NONE" {
		t.Fatalf("the example's account is %s/%s now: update the expected mapping", a["type"], a["subtype"])
	}
	if !strings.HasSuffix(step.LoginID, "/"+memberGUID) || len(step.Accounts) != 1 || step.Accounts[0] != want {
		t.Errorf("step %+v, want login …/%s with %+v", step, memberGUID, want)
	}
}

func TestReplayReadMember(t *testing.T) {
	member, at := exampleMember(t)
	p := mxReplay(t, at.Add(time.Minute), loginRoutes(t))
	req := banklink.LoginRequest{Institution: everywhere, ProviderInstitutionID: str(member["institution_code"]), ProviderUserID: "USR-1"}
	step, err := p.CompleteRedirect(t.Context(), req, map[string]string{"member_guid": str(member["guid"])})
	if err != nil {
		t.Fatal(err)
	}
	checkLoginStep(t, step, str(member["guid"]))
}

func TestReplayListMembers(t *testing.T) {
	raw, ex := mxExample(t, "GET", "/users/{user_guid}/members")
	m := first(ex, "members")
	routes := loginRoutes(t)
	routes["GET /users/{user_guid}/members"] = ok(raw)
	p := mxReplay(t, time.Now(), routes)
	// No member_guid came back: the user's one member at the
	// institution is the login.
	req := banklink.LoginRequest{Institution: everywhere, ProviderInstitutionID: str(m["institution_code"]), ProviderUserID: "USR-1"}
	step, err := p.CompleteRedirect(t.Context(), req, map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	checkLoginStep(t, step, str(m["guid"]))
}

func TestReplayMemberStatus(t *testing.T) {
	raw, ex := mxExample(t, "GET", "/users/{user_guid}/members/{member_guid}/status")
	st := obj(ex["member"])
	last, _ := time.Parse(time.RFC3339, str(st["aggregated_at"]))
	if s, err := time.Parse(time.RFC3339, str(st["successfully_aggregated_at"])); err == nil && s.After(last) {
		last = s
	}
	now := last.Add(time.Hour)
	p := mxReplay(t, now, map[string]answer{"GET /users/{user_guid}/members/{member_guid}/status": ok(raw)})
	next, err := p.NextRefresh(t.Context(), "USR-1/"+str(st["guid"]), nil, now)
	if err != nil || !next.Equal(last.Add(mx.MinAggregationInterval)) {
		t.Errorf("NextRefresh = %v %v, want the example's last aggregation %v plus %v", next, err, last, mx.MinAggregationInterval)
	}
}

func TestReplayAggregateMember(t *testing.T) {
	status, _ := mxExample(t, "GET", "/users/{user_guid}/members/{member_guid}/status")
	raw, ex := mxExample(t, "POST", "/users/{user_guid}/members/{member_guid}/aggregate")
	m := obj(ex["member"])
	last, _ := time.Parse(time.RFC3339, str(m["aggregated_at"]))
	// Data older than MX's interval: banklink asks MX to aggregate, and
	// MX's answer (the member, not aggregating, last aggregated when it
	// was before) means it declined.
	now := last.Add(24 * time.Hour)
	p := mxReplay(t, now, map[string]answer{"GET /users/{user_guid}/members/{member_guid}/status": ok(status),
		"POST /users/{user_guid}/members/{member_guid}/aggregate": {http.StatusAccepted, raw}})
	_, err := p.Aggregate(t.Context(), banklink.AggregationRequest{Institution: everywhere, LoginID: "USR-1/" + str(m["guid"]),
		Products: []banklink.Product{banklink.Balances}, Now: now})
	var rl *mx.RateLimitError
	if be, ok := errors.AsType[*banklink.Error](err); !ok || be.Code != banklink.ERATELIMITED || be.Reason != mx.ReasonAggregationTooRecent ||
		!errors.As(err, &rl) || !rl.RetryAt.Equal(now.Add(mx.MinAggregationInterval)) {
		t.Errorf("Aggregate = %v, want MX's declined aggregation until %v", err, now.Add(mx.MinAggregationInterval))
	}
}

// aggregateWith aggregates the example member (fresh: read as it is)
// with the routes given on top of its status.
func aggregateWith(t *testing.T, products []banklink.Product, routes map[string]answer) banklink.AggregatedAccount {
	t.Helper()
	member, at := exampleMember(t)
	status, _ := mxExample(t, "GET", "/users/{user_guid}/members/{member_guid}/status")
	routes["GET /users/{user_guid}/members/{member_guid}/status"] = ok(status)
	p := mxReplay(t, at.Add(time.Minute), routes)
	got, err := p.Aggregate(t.Context(), banklink.AggregationRequest{Institution: everywhere, LoginID: "USR-1/" + str(member["guid"]),
		Products: products, Now: at.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d accounts", len(got))
	}
	return got[0]
}

func TestReplayAccounts(t *testing.T) {
	raw, ex := mxExample(t, "GET", "/users/{user_guid}/members/{member_guid}/accounts")
	a := first(ex, "accounts")
	got := aggregateWith(t, []banklink.Product{banklink.Balances}, map[string]answer{"GET /users/{user_guid}/members/{member_guid}/accounts": ok(raw)})
	// Balances are as of MX's last successful aggregation.
	status := obj(mustExample(t, "GET", "/users/{user_guid}/members/{member_guid}/status")["member"])
	asOf, _ := time.Parse(time.RFC3339, str(status["successfully_aggregated_at"]))
	b := got.Balances
	if got.ProviderAccountID != str(a["guid"]) || got.Name != str(a["name"]) || b == nil || b.CurrentAmount != num(a["balance"]) ||
		b.AvailableAmount == nil || *b.AvailableAmount != num(a["available_balance"]) || b.Currency != str(a["currency_code"]) ||
		!b.UpdatedAt.Equal(asOf.Truncate(time.Second)) || len(got.Raw) == 0 {
		t.Errorf("account %+v balances %+v, want the example's %v", got, b, a)
	}
}

// mustExample is the decoded example alone.
func mustExample(t *testing.T, method, path string) map[string]any {
	_, m := mxExample(t, method, path)
	return m
}

func TestReplayAccountNumbers(t *testing.T) {
	raw, ex := mxExample(t, "GET", "/users/{user_guid}/members/{member_guid}/account_numbers")
	n := first(ex, "account_numbers")
	got := aggregateWith(t, []banklink.Product{banklink.Identifiers}, map[string]answer{
		"GET /users/{user_guid}/members/{member_guid}/accounts":        ok(withAccount(t, str(n["account_guid"]))),
		"GET /users/{user_guid}/members/{member_guid}/account_numbers": ok(raw)})
	// A routing number makes the numbers ACH.
	if id := got.Identifiers; id == nil || id.ACH == nil || id.ACH.AccountNumber != str(n["account_number"]) || id.ACH.RoutingNumber != str(n["routing_number"]) {
		t.Errorf("identifiers %+v, want the example's %v", got.Identifiers, n)
	}
}

func TestReplayAccountOwners(t *testing.T) {
	raw, ex := mxExample(t, "GET", "/users/{user_guid}/members/{member_guid}/account_owners")
	o := first(ex, "account_owners")
	got := aggregateWith(t, []banklink.Product{banklink.Owners}, map[string]answer{
		"GET /users/{user_guid}/members/{member_guid}/accounts":       ok(withAccount(t, str(o["account_guid"]))),
		"GET /users/{user_guid}/members/{member_guid}/account_owners": ok(raw)})
	want := banklink.Owner{Names: []string{str(o["owner_name"])}, Emails: []string{str(o["email"])}, PhoneNumbers: []string{str(o["phone"])},
		Addresses: []banklink.Address{{Street: str(o["address"]), City: str(o["city"]), Region: str(o["state"]), PostalCode: str(o["postal_code"]),
			Country: str(o["country"]), Primary: true}}}
	if len(got.Owners) != 1 || !slices.Equal(got.Owners[0].Names, want.Names) || !slices.Equal(got.Owners[0].Emails, want.Emails) ||
		!slices.Equal(got.Owners[0].PhoneNumbers, want.PhoneNumbers) || !slices.Equal(got.Owners[0].Addresses, want.Addresses) {
		t.Errorf("owners %+v, want %+v", got.Owners, want)
	}
}

func TestReplayTransactions(t *testing.T) {
	raw, ex := mxExample(t, "GET", "/users/{user_guid}/members/{member_guid}/transactions")
	x := first(ex, "transactions")
	got := aggregateWith(t, []banklink.Product{banklink.Transactions}, map[string]answer{
		"GET /users/{user_guid}/members/{member_guid}/accounts":     ok(withAccount(t, str(x["account_guid"]))),
		"GET /users/{user_guid}/members/{member_guid}/transactions": ok(raw)})
	// MX's amounts are positive; CREDIT brings money in: negative in
	// banklink's terms. A null currency is the account's.
	amount := math.Abs(num(x["amount"]))
	if str(x["type"]) == "CREDIT" {
		amount = -amount
	}
	currency := str(x["currency_code"])
	if currency == "" {
		currency = str(first(mustExample(t, "GET", "/users/{user_guid}/members/{member_guid}/accounts"), "accounts")["currency_code"])
	}
	status, posted := banklink.TxPosted, str(x["posted_at"])[:len(time.DateOnly)]
	if str(x["status"]) == "PENDING" {
		status, posted = banklink.TxPending, ""
	}
	if len(got.Transactions) != 1 {
		t.Fatalf("%d transactions", len(got.Transactions))
	}
	tx := got.Transactions[0]
	if tx.ProviderTransactionID != str(x["guid"]) || tx.Amount != amount || tx.Currency != currency || tx.Description != str(x["description"]) ||
		tx.TransactionDate != str(x["date"]) || tx.PostedDate != posted || tx.Status != status ||
		!slices.Contains(banklink.TransactionCategories, tx.Category) || len(tx.Raw) == 0 {
		t.Errorf("transaction %+v, want the example's %v", tx, x)
	}
}

func TestReplayInvestmentHoldings(t *testing.T) {
	raw, ex := mxExample(t, "GET", "/users/{user_guid}/members/{member_guid}/investment_holdings")
	h := first(ex, "investment_holdings")
	got := aggregateWith(t, []banklink.Product{banklink.InvestmentHoldings}, map[string]answer{
		"GET /users/{user_guid}/members/{member_guid}/accounts":            ok(withAccount(t, str(h["account_guid"]))),
		"GET /users/{user_guid}/members/{member_guid}/investment_holdings": ok(raw)})
	if len(got.Holdings) != 1 {
		t.Fatalf("%d holdings", len(got.Holdings))
	}
	g := got.Holdings[0]
	// quantity is a string in MX's spec ("5000.0").
	qty, _ := json.Number(str(h["quantity"])).Float64()
	if g.ProviderHoldingID != str(h["guid"]) || g.Symbol != str(h["symbol"]) || g.Description != str(h["description"]) || g.Quantity != qty ||
		g.ClosePrice != num(h["current_price"]) || g.CurrentValue != num(h["market_value"]) || g.CostBasis == nil || *g.CostBasis != num(h["cost_basis"]) ||
		g.Currency != str(h["currency_code"]) || !slices.Contains(banklink.HoldingTypes, g.Type) || len(g.Raw) == 0 {
		t.Errorf("holding %+v, want the example's %v", g, h)
	}
}

func TestReplayInstitutions(t *testing.T) {
	raw, ex := mxExample(t, "GET", "/institutions")
	in := first(ex, "institutions")
	p := mxReplay(t, time.Now(), map[string]answer{"GET /institutions": ok(raw)})
	got, err := p.Institutions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d institutions", len(got))
	}
	g := got[0]
	pi := g.Providers[mx.ProviderType]
	want := banklink.NewProductSet(banklink.Balances, banklink.Transactions, banklink.InvestmentHoldings)
	for flag, p := range map[string]banklink.Product{"supports_account_identification": banklink.Owners,
		"supports_account_verification": banklink.Identifiers, "supports_transaction_history": banklink.HistoricalTransactions} {
		if in[flag] == true {
			want |= banklink.NewProductSet(p)
		}
	}
	u, _ := url.Parse(str(in["url"]))
	if g.Name != str(in["name"]) || pi.ProviderInstitutionID != str(in["code"]) || banklink.NewProductSet(pi.Products...) != want ||
		len(g.Regions) != 1 || string(g.Regions[0]) != str(in["iso_country_code"]) || g.Domain != strings.TrimPrefix(u.Hostname(), "www.") ||
		g.Images.Icon != str(in["small_logo_url"]) || g.Images.Tile != str(in["medium_logo_url"]) {
		t.Errorf("institution %+v (%+v), want the example's %v", g, pi, in)
	}
}
