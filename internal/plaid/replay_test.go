package plaid

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/contract"
)

// The replay tests feed the examples of Plaid's official spec (read from
// the spec at test time) through banklink's decoders and mappers, one
// endpoint each, and check that what banklink makes of them holds the
// example's values: a field banklink reads under a name or in a shape
// Plaid does not send shows up here, not with real keys.

// example is the spec's example answer of path: its bytes, and decoded.
func example(t *testing.T, path string) ([]byte, map[string]any) {
	t.Helper()
	raw := contract.Plaid.Example(t, http.MethodPost, path)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return raw, m
}

// replay is a Provider talking to a Plaid that answers each path with
// the given body. A paged list's example is its first page: an offset
// past it gets an empty page (pages, by path, name the list).
func replay(t *testing.T, answers map[string][]byte, pages ...string) *Provider {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := answers[r.URL.Path]
		if !ok {
			t.Errorf("unexpected call to %s", r.URL.Path)
			w.WriteHeader(http.StatusNotFound)
			return
		}
		var req struct {
			Offset  int `json:"offset"`
			Options struct {
				Offset int `json:"offset"`
			} `json:"options"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		if req.Offset+req.Options.Offset > 0 {
			for i := 0; i+1 < len(pages); i += 2 {
				if pages[i] == r.URL.Path {
					var m map[string]any
					json.Unmarshal(b, &m)
					m[pages[i+1]] = []any{}
					b, _ = json.Marshal(m)
				}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	p, err := New(Config{ClientID: "c", Secret: "s", BaseURL: srv.URL, Secrets: &memSecrets{}, SyncPoll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Accessors of decoded JSON.
func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }
func list(v any) []any         { l, _ := v.([]any); return l }
func str(v any) string         { s, _ := v.(string); return s }
func num(v any) float64        { f, _ := v.(float64); return f }

// nullableNum is v as *float64, nil for null.
func nullableNum(v any) *float64 {
	if f, ok := v.(float64); ok {
		return &f
	}
	return nil
}

func eqNum(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// banklinkType is the account type banklink gives each of Plaid's.
var banklinkType = map[string]string{"depository": "DEPOSITORY", "credit": "CREDIT", "loan": "LOAN", "investment": "INVESTMENT", "other": "OTHER"}

func banklinkSubtype(s string) string { return strings.ToUpper(strings.ReplaceAll(s, " ", "_")) }

// accountsOf indexes the example's accounts for the product calls.
func accountsOf(ex map[string]any) (ids []string, byID map[string]*banklink.AggregatedAccount) {
	byID = map[string]*banklink.AggregatedAccount{}
	for _, a := range list(ex["accounts"]) {
		id := str(obj(a)["account_id"])
		ids = append(ids, id)
		byID[id] = &banklink.AggregatedAccount{ProviderAccountID: id}
	}
	return ids, byID
}

func TestReplayLinkTokenCreate(t *testing.T) {
	raw, ex := example(t, "/link/token/create")
	p := replay(t, map[string][]byte{"/link/token/create": raw})
	var got linkTokenCreateResponse
	if err := p.call(t.Context(), "/link/token/create", struct{}{}, &got, maxResponse); err != nil {
		t.Fatal(err)
	}
	exp, _ := time.Parse(time.RFC3339, str(ex["expiration"]))
	if got.LinkToken != str(ex["link_token"]) || !got.Expiration.Equal(exp) || got.RequestID != str(ex["request_id"]) {
		t.Errorf("decoded %+v from %s", got, raw)
	}
	// The example has no hosted_link_url: Hosted Link is not enabled,
	// which StartLogin says rather than sending the customer nowhere.
	req := banklink.LoginRequest{Products: []banklink.Product{banklink.Transactions}, CallbackURL: "https://banklink.test/cb"}
	if _, err := p.StartLogin(t.Context(), req); banklink.ErrorCode(err) != banklink.EPROVIDER || !strings.Contains(err.Error(), "Hosted Link") {
		t.Errorf("StartLogin without a hosted_link_url = %v", err)
	}
}

func TestReplayLinkTokenGet(t *testing.T) {
	raw, ex := example(t, "/link/token/get")
	p := replay(t, map[string][]byte{"/link/token/get": raw})
	var got linkTokenGetResponse
	if err := p.call(t.Context(), "/link/token/get", struct{}{}, &got, maxResponse); err != nil {
		t.Fatal(err)
	}
	// The example's session added two Items, at two institutions: the
	// one at the institution chosen in the widget is the login.
	results := itemResults(ex)
	if len(results) == 0 {
		t.Fatal("the example's Link sessions added no Item")
	}
	for _, want := range results {
		inst := obj(want["institution"])
		res, _, err := outcome(got.LinkSessions, str(inst["institution_id"]))
		if err != nil || res == nil {
			t.Fatalf("outcome = %+v, %v", res, err)
		}
		if res.PublicToken != str(want["public_token"]) || res.Institution == nil ||
			res.Institution.InstitutionID != str(inst["institution_id"]) || res.Institution.Name != str(inst["name"]) {
			t.Errorf("outcome for %s: %+v (institution %+v), want %v", str(inst["institution_id"]), res, res.Institution, want)
		}
	}
}

// itemResults are the Items the example's finished Link sessions added.
func itemResults(ex map[string]any) []map[string]any {
	var out []map[string]any
	for _, s := range list(ex["link_sessions"]) {
		if str(obj(s)["finished_at"]) == "" {
			continue
		}
		for _, r := range list(obj(obj(s)["results"])["item_add_results"]) {
			out = append(out, obj(r))
		}
	}
	return out
}

func TestReplayPublicTokenExchange(t *testing.T) {
	linkRaw, linkEx := example(t, "/link/token/get")
	exRaw, ex := example(t, "/item/public_token/exchange")
	accRaw, _ := example(t, "/accounts/get")
	p := replay(t, map[string][]byte{"/link/token/get": linkRaw, "/item/public_token/exchange": exRaw, "/accounts/get": accRaw})
	req := banklink.LoginRequest{CallbackURL: "https://banklink.test/cb",
		ProviderInstitutionID: str(obj(itemResults(linkEx)[0]["institution"])["institution_id"])}
	if _, ok, err := p.storeSession(t.Context(), sessionKey(req.CallbackURL), linkSession{LinkToken: "link-token", HostedLinkURL: "https://hosted",
		Expiration: time.Now().Add(time.Hour).Unix()}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	step, err := p.CompleteRedirect(t.Context(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if step.LoginID != str(ex["item_id"]) {
		t.Errorf("login %q, want the example's item_id %q", step.LoginID, str(ex["item_id"]))
	}
	if token, err := p.accessToken(t.Context(), step.LoginID); err != nil || token != str(ex["access_token"]) {
		t.Errorf("stored access token %q %v, want %q", token, err, str(ex["access_token"]))
	}
}

func TestReplayAccountsGet(t *testing.T) {
	raw, ex := example(t, "/accounts/get")
	p := replay(t, map[string][]byte{"/accounts/get": raw})
	step, err := p.loginStep(t.Context(), "item-1", "access-1")
	if err != nil {
		t.Fatal(err)
	}
	var want []banklink.ProviderAccount
	for _, a := range list(ex["accounts"]) {
		a := obj(a)
		want = append(want, banklink.ProviderAccount{ID: str(a["account_id"]), Name: str(a["name"]), Type: banklinkType[str(a["type"])],
			Subtype: banklinkSubtype(str(a["subtype"])), Mask: str(a["mask"])})
	}
	if !slices.Equal(step.Accounts, want) || len(want) == 0 {
		t.Errorf("accounts\n got %+v\nwant %+v", step.Accounts, want)
	}
}

func TestReplayAccountsBalanceGet(t *testing.T) {
	raw, ex := example(t, "/accounts/balance/get")
	p := replay(t, map[string][]byte{"/accounts/balance/get": raw})
	if err := p.saveAccessToken(t.Context(), "item-1", "access-1"); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	got, err := p.Aggregate(t.Context(), banklink.AggregationRequest{LoginID: "item-1", Products: []banklink.Product{banklink.Balances}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(list(ex["accounts"])) {
		t.Fatalf("%d accounts, the example has %d", len(got), len(list(ex["accounts"])))
	}
	for i, a := range list(ex["accounts"]) {
		a := obj(a)
		b := obj(a["balances"])
		current, available := nullableNum(b["current"]), nullableNum(b["available"])
		if current == nil {
			current = available
		}
		cur := str(b["iso_currency_code"])
		if cur == "" {
			cur = str(b["unofficial_currency_code"])
		}
		g := got[i]
		if g.ProviderAccountID != str(a["account_id"]) || g.Name != str(a["name"]) || g.Type != banklinkType[str(a["type"])] || g.Balances == nil ||
			g.Balances.CurrentAmount != *current || !eqNum(g.Balances.AvailableAmount, available) || g.Balances.Currency != cur || !g.Balances.UpdatedAt.Equal(now) {
			t.Errorf("account %+v balances %+v, want %v", g, g.Balances, a)
		}
	}
}

func TestReplayAuthGet(t *testing.T) {
	raw, ex := example(t, "/auth/get")
	p := replay(t, map[string][]byte{"/auth/get": raw})
	ids, byID := accountsOf(ex)
	if err := p.addIdentifiers(t.Context(), "access-1", ids, byID); err != nil {
		t.Fatal(err)
	}
	numbers := obj(ex["numbers"])
	n := 0
	for _, x := range list(numbers["ach"]) {
		x := obj(x)
		a := byID[str(x["account_id"])]
		if a.Identifiers == nil || a.Identifiers.ACH == nil || a.Identifiers.ACH.AccountNumber != str(x["account"]) || a.Identifiers.ACH.RoutingNumber != str(x["routing"]) {
			t.Errorf("%s ACH %+v, want %v", str(x["account_id"]), a.Identifiers, x)
		}
		n++
	}
	for _, x := range list(numbers["eft"]) {
		x := obj(x)
		a := byID[str(x["account_id"])]
		if a.Identifiers == nil || a.Identifiers.EFT == nil || a.Identifiers.EFT.AccountNumber != str(x["account"]) ||
			a.Identifiers.EFT.InstitutionNumber != str(x["institution"]) || a.Identifiers.EFT.BranchNumber != str(x["branch"]) {
			t.Errorf("%s EFT %+v, want %v", str(x["account_id"]), a.Identifiers, x)
		}
		n++
	}
	if n == 0 {
		t.Error("the example has no ACH or EFT numbers")
	}
}

func TestReplayIdentityGet(t *testing.T) {
	raw, ex := example(t, "/identity/get")
	p := replay(t, map[string][]byte{"/identity/get": raw})
	ids, byID := accountsOf(ex)
	if err := p.addOwners(t.Context(), "access-1", ids, byID); err != nil {
		t.Fatal(err)
	}
	for _, a := range list(ex["accounts"]) {
		a := obj(a)
		var want []banklink.Owner
		for _, o := range list(a["owners"]) {
			o := obj(o)
			var w banklink.Owner
			for _, n := range list(o["names"]) {
				w.Names = append(w.Names, str(n))
			}
			for _, e := range list(o["emails"]) {
				w.Emails = append(w.Emails, str(obj(e)["data"]))
			}
			for _, ph := range list(o["phone_numbers"]) {
				w.PhoneNumbers = append(w.PhoneNumbers, str(obj(ph)["data"]))
			}
			for _, ad := range list(o["addresses"]) {
				d := obj(obj(ad)["data"])
				w.Addresses = append(w.Addresses, banklink.Address{Street: str(d["street"]), City: str(d["city"]), Region: str(d["region"]),
					PostalCode: str(d["postal_code"]), Country: str(d["country"]), Primary: obj(ad)["primary"] == true})
			}
			want = append(want, w)
		}
		got := byID[str(a["account_id"])].Owners
		if fmt.Sprint(got) != fmt.Sprint(want) || len(want) == 0 {
			t.Errorf("%s owners\n got %+v\nwant %+v", str(a["account_id"]), got, want)
		}
	}
}

func TestReplayTransactionsSync(t *testing.T) {
	raw, ex := example(t, "/transactions/sync")
	p := replay(t, map[string][]byte{"/transactions/sync": raw})
	_, byID := accountsOf(ex)
	cursor, err := p.addTransactions(t.Context(), "access-1", time.Time{}, false, byID)
	if err != nil {
		t.Fatal(err)
	}
	if cursor != str(ex["next_cursor"]) {
		t.Errorf("cursor %q, want %q", cursor, str(ex["next_cursor"]))
	}
	removed := map[string]bool{}
	for _, r := range list(ex["removed"]) {
		removed[str(obj(r)["transaction_id"])] = true
	}
	got := map[string]banklink.Transaction{}
	for _, a := range byID {
		for _, tx := range a.Transactions {
			got[tx.ProviderTransactionID] = tx
		}
	}
	n := 0
	for _, x := range append(list(ex["added"]), list(ex["modified"])...) {
		x := obj(x)
		if removed[str(x["transaction_id"])] {
			continue
		}
		n++
		id, alias, status, posted := str(x["transaction_id"]), "", banklink.TxPosted, str(x["date"])
		if x["pending"] == true {
			status, posted = banklink.TxPending, ""
		} else if p := str(x["pending_transaction_id"]); p != "" {
			id, alias = p, str(x["transaction_id"])
		}
		date := str(x["authorized_date"])
		if date == "" {
			date = str(x["date"])
		}
		tx, ok := got[id]
		if !ok || tx.ProviderAliasID != alias || tx.Amount != num(x["amount"]) || tx.Currency != str(x["iso_currency_code"]) ||
			tx.Description != str(x["name"]) || tx.TransactionDate != date || tx.PostedDate != posted || tx.Status != status ||
			!slices.Contains(banklink.TransactionCategories, tx.Category) || len(tx.Raw) == 0 {
			t.Errorf("transaction %s = %+v, want the example's %v", id, tx, x)
		}
	}
	if n == 0 || len(got) != n {
		t.Errorf("%d transactions banklink kept, the example has %d", len(got), n)
	}
}

// securities indexes an example's securities by id.
func securities(ex map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, s := range list(ex["securities"]) {
		out[str(obj(s)["security_id"])] = obj(s)
	}
	return out
}

func TestReplayInvestmentsHoldingsGet(t *testing.T) {
	raw, ex := example(t, "/investments/holdings/get")
	p := replay(t, map[string][]byte{"/investments/holdings/get": raw})
	ids, byID := accountsOf(ex)
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	if err := p.addHoldings(t.Context(), "access-1", ids, now, byID); err != nil {
		t.Fatal(err)
	}
	secs := securities(ex)
	got := map[string]banklink.Holding{}
	for _, a := range byID {
		for _, h := range a.Holdings {
			got[h.ProviderHoldingID] = h
		}
	}
	for _, x := range list(ex["holdings"]) {
		x := obj(x)
		sec := secs[str(x["security_id"])]
		id := str(x["account_id"]) + "/" + str(x["security_id"])
		h, ok := got[id]
		if !ok || h.Quantity != num(x["quantity"]) || h.ClosePrice != num(x["institution_price"]) || h.CurrentValue != num(x["institution_value"]) ||
			!eqNum(h.CostBasis, nullableNum(x["cost_basis"])) || h.Currency != str(x["iso_currency_code"]) || h.Symbol != str(sec["ticker_symbol"]) ||
			h.Description != str(sec["name"]) || h.CUSIP != str(sec["cusip"]) || h.ISIN != str(sec["isin"]) || !slices.Contains(banklink.HoldingTypes, h.Type) {
			t.Errorf("holding %s = %+v, want the example's %v with %v", id, h, x, sec)
		}
	}
	if len(got) == 0 || len(got) != len(list(ex["holdings"])) {
		t.Errorf("%d holdings, the example has %d", len(got), len(list(ex["holdings"])))
	}
}

func TestReplayInvestmentsTransactionsGet(t *testing.T) {
	raw, ex := example(t, "/investments/transactions/get")
	p := replay(t, map[string][]byte{"/investments/transactions/get": raw}, "/investments/transactions/get", "investment_transactions")
	ids, byID := accountsOf(ex)
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	if err := p.addInvestmentTransactions(t.Context(), "access-1", ids, now.AddDate(-2, 0, 0), now, byID); err != nil {
		t.Fatal(err)
	}
	secs := securities(ex)
	got := map[string]banklink.InvestmentTransaction{}
	for _, a := range byID {
		for _, x := range a.InvestmentTransactions {
			got[x.ProviderTransactionID] = x
		}
	}
	types := map[string]string{"buy": "BUY", "sell": "SELL", "cancel": "CANCEL", "cash": "CASH", "transfer": "TRANSFER", "fee": "OTHER"}
	for _, x := range list(ex["investment_transactions"]) {
		x := obj(x)
		tx, ok := got[str(x["investment_transaction_id"])]
		if !ok || tx.Amount != num(x["amount"]) || tx.Quantity != num(x["quantity"]) || tx.Price != num(x["price"]) || tx.TransactionDate != str(x["date"]) ||
			tx.Description != str(x["name"]) || tx.Type != types[str(x["type"])] || tx.Currency != str(x["iso_currency_code"]) ||
			tx.Symbol != str(secs[str(x["security_id"])]["ticker_symbol"]) || tx.Status != banklink.TxPosted {
			t.Errorf("investment transaction %s = %+v, want the example's %v", str(x["investment_transaction_id"]), tx, x)
		}
	}
	if len(got) == 0 || len(got) != len(list(ex["investment_transactions"])) {
		t.Errorf("%d investment transactions, the example has %d", len(got), len(list(ex["investment_transactions"])))
	}
}

func TestReplayInstitutionsGet(t *testing.T) {
	raw, ex := example(t, "/institutions/get")
	p := replay(t, map[string][]byte{"/institutions/get": raw}, "/institutions/get", "institutions")
	got, err := p.Institutions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || len(got) != len(list(ex["institutions"])) {
		t.Fatalf("%d institutions, the example has %d", len(got), len(list(ex["institutions"])))
	}
	for i, x := range list(ex["institutions"]) {
		x := obj(x)
		in := got[i]
		pi := in.Providers[ProviderType]
		var regions []banklink.Region
		for _, c := range list(x["country_codes"]) {
			regions = append(regions, banklink.Region(str(c)))
		}
		var products banklink.ProductSet
		for _, name := range list(x["products"]) {
			products |= banklink.NewProductSet(productsOf[str(name)]...)
		}
		if in.Name != str(x["name"]) || pi.ProviderInstitutionID != str(x["institution_id"]) || !slices.Equal(in.Regions, regions) ||
			banklink.NewProductSet(pi.Products...) != products || !pi.Redirect {
			t.Errorf("institution %+v (%+v), want the example's %v", in, pi, x)
		}
		// The example's routing numbers all pass the checksum: every one
		// is kept, in order.
		var routing []string
		for _, rn := range list(x["routing_numbers"]) {
			routing = append(routing, str(rn))
		}
		if len(routing) == 0 || !slices.Equal(in.RoutingNumbers, routing) {
			t.Errorf("%s: routing numbers %v, want the example's %v", in.Name, in.RoutingNumbers, routing)
		}
		if c := str(x["primary_color"]); in.Images.Color != strings.ToLower(c) {
			t.Errorf("%s: colour %q, want the example's %q", in.Name, in.Images.Color, c)
		}
	}
}

func TestReplayInstitutionsGetByID(t *testing.T) {
	raw, ex := example(t, "/institutions/get_by_id")
	p := replay(t, map[string][]byte{"/institutions/get_by_id": raw})
	got, err := p.InstitutionHealth(t.Context(), "ins_109512")
	if err != nil {
		t.Fatal(err)
	}
	// Item logins down: DOWN; else any product banklink uses degraded or
	// down: DEGRADED.
	status := obj(obj(ex["institution"])["status"])
	want := banklink.HealthHealthy
	for _, name := range []string{"item_logins", "transactions_updates", "auth", "identity", "investments_updates", "investments"} {
		switch s := str(obj(status[name])["status"]); {
		case name == "item_logins" && s == "DOWN":
			want = banklink.HealthDown
		case (s == "DEGRADED" || s == "DOWN") && want == banklink.HealthHealthy:
			want = banklink.HealthDegraded
		}
	}
	if got != want {
		t.Errorf("health %s, want %s from the example's %v", got, want, status)
	}
}

func TestReplayWebhookVerificationKeyGet(t *testing.T) {
	raw, ex := example(t, "/webhook_verification_key/get")
	p := replay(t, map[string][]byte{"/webhook_verification_key/get": raw})
	key := obj(ex["key"])
	got, err := p.fetchKey(t.Context(), str(key["kid"]))
	if err != nil {
		t.Fatal(err)
	}
	if got.jwk.Kid != str(key["kid"]) || got.jwk.X != str(key["x"]) || got.jwk.Y != str(key["y"]) || got.jwk.Alg != str(key["alg"]) ||
		got.jwk.CreatedAt != int64(num(key["created_at"])) || (got.jwk.ExpiredAt == nil) != (key["expired_at"] == nil) || got.pub == nil {
		t.Errorf("key %+v, want the example's %v", got.jwk, key)
	}
}

func TestReplayItemRemove(t *testing.T) {
	raw, _ := example(t, "/item/remove")
	p := replay(t, map[string][]byte{"/item/remove": raw})
	if err := p.saveAccessToken(t.Context(), "item-1", "access-1"); err != nil {
		t.Fatal(err)
	}
	if err := p.RemoveItem(t.Context(), "item-1"); err != nil {
		t.Errorf("RemoveItem with the example's answer: %v", err)
	}
}
