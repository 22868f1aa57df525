package finicity_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/contract"
	"banklink/internal/finicity"
)

// The replay tests feed the examples of Finicity's official spec (read
// from the spec at test time by contract.Finicity.Example) through
// banklink's decoders and mappers and check that what banklink makes of
// them holds the example's values.

func example(t *testing.T, method, path string) ([]byte, map[string]any) {
	t.Helper()
	raw := contract.Finicity.Example(t, method, path)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return raw, m
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }
func list(v any) []any         { l, _ := v.([]any); return l }
func str(v any) string         { s, _ := v.(string); return s }
func num(v any) float64        { f, _ := v.(float64); return f }

// replay is a provider talking to a Finicity answering each route (a
// ServeMux pattern) with the given body.
func replay(t *testing.T, now time.Time, routes map[string][]byte) *finicity.Provider {
	t.Helper()
	mux := http.NewServeMux()
	for pattern, body := range routes {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected call: %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return finicity.New(finicity.Config{PartnerID: "p", PartnerSecret: "s", AppKey: "k", BaseURL: srv.URL, Now: func() time.Time { return now }})
}

// TestReplayAggregation: the spec's account, details, owner and
// transaction examples through Aggregate.
func TestReplayAggregation(t *testing.T) {
	auth, _ := example(t, "POST", "/aggregation/v2/partners/authentication")
	acctsRaw, accts := example(t, "GET", "/aggregation/v1/customers/{customerId}/institutionLogins/{institutionLoginId}/accounts")
	detailsRaw, details := example(t, "GET", "/aggregation/v3/customers/{customerId}/accounts/{accountId}/details")
	ownerRaw, owner := example(t, "GET", "/aggregation/v3/customers/{customerId}/accounts/{accountId}/owner")
	txRaw, txs := example(t, "GET", "/aggregation/v4/customers/{customerId}/accounts/{accountId}/transactions")
	acct := obj(list(accts["accounts"])[0])
	// Read when Finicity last aggregated: no refresh.
	now := time.Unix(int64(num(acct["aggregationAttemptDate"])), 0).Add(time.Minute)
	p := replay(t, now, map[string][]byte{
		"POST /aggregation/v2/partners/authentication":                     auth,
		"GET /aggregation/v1/customers/{c}/institutionLogins/{l}/accounts": acctsRaw,
		"GET /aggregation/v3/customers/{c}/accounts/{a}/details":           detailsRaw,
		"GET /aggregation/v3/customers/{c}/accounts/{a}/owner":             ownerRaw,
		"GET /aggregation/v4/customers/{c}/accounts/{a}/transactions":      txRaw,
	})
	in := &banklink.Institution{Providers: map[string]banklink.ProviderInstitution{finicity.ProviderType: {Products: []banklink.Product{
		banklink.Balances, banklink.Identifiers, banklink.Owners, banklink.Transactions}}}}
	got, err := p.Aggregate(t.Context(), banklink.AggregationRequest{Institution: in, LoginID: "1005061234/1007302745", Now: now,
		Products: []banklink.Product{banklink.Balances, banklink.Identifiers, banklink.Owners, banklink.Transactions}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d accounts", len(got))
	}
	a := got[0]
	if a.ProviderAccountID != str(acct["id"]) || a.Name != str(acct["name"]) || a.Balances == nil || a.Balances.Currency != str(acct["currency"]) ||
		!bytes.Equal(a.Raw, mustCompact(t, list(accts["accounts"])[0])) {
		t.Errorf("account %+v", a)
	}
	typ, _ := finicityType(str(acct["type"]))
	if want := num(acct["balance"]); (typ == "CREDIT" || typ == "LOAN") && a.Balances.CurrentAmount != -want || typ != "CREDIT" && typ != "LOAN" && a.Balances.CurrentAmount != want {
		t.Errorf("balance %v, example %v (%s)", a.Balances.CurrentAmount, want, acct["type"])
	}
	pi := obj(list(details["paymentInstruction"])[0])
	if detailTypes := "checking savings moneyMarket"; strings.Contains(detailTypes, str(acct["type"])) {
		if a.Identifiers == nil || a.Identifiers.ACH.AccountNumber != str(pi["accountNumber"]) || a.Identifiers.ACH.RoutingNumber != str(obj(list(pi["descriptors"])[0])["value"]) {
			t.Errorf("identifiers %+v", a.Identifiers)
		}
	}
	h := obj(list(owner["holders"])[0])
	if len(a.Owners) != 1 || a.Owners[0].Names[0] != str(h["ownerName"]) || a.Owners[0].Addresses[0].City != str(obj(list(h["addresses"])[0])["city"]) ||
		a.Owners[0].Emails[0] != str(obj(list(h["emails"])[0])["email"]) {
		t.Errorf("owners %+v", a.Owners)
	}
	tx := obj(list(txs["transactions"])[0])
	if len(a.Transactions) == 0 {
		t.Fatal("no transactions")
	}
	gotTx := a.Transactions[0]
	if gotTx.Amount != -num(tx["amount"]) || gotTx.Description != str(tx["description"]) || gotTx.Status != banklink.TxPosted ||
		gotTx.TransactionDate != time.Unix(int64(num(tx["transactionDate"])), 0).UTC().Format(time.DateOnly) {
		t.Errorf("transaction %+v from %v", gotTx, tx)
	}
	// The example says more are available and found is 200: pages
	// continue to found and stop.
	if n := len(a.Transactions); n != int(num(txs["found"])) {
		t.Errorf("%d transactions read, found says %v", n, txs["found"])
	}
}

func finicityType(t string) (string, string) {
	switch t {
	case "creditCard", "lineOfCredit":
		return "CREDIT", ""
	case "mortgage", "loan", "studentLoan":
		return "LOAN", ""
	}
	return "", ""
}

func mustCompact(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	json.Compact(&out, b)
	return out.Bytes()
}

// TestReplayLoginAndDirectory: the customer, Connect and institution
// examples.
func TestReplayLoginAndDirectory(t *testing.T) {
	auth, _ := example(t, "POST", "/aggregation/v2/partners/authentication")
	custRaw, cust := example(t, "POST", "/aggregation/v2/customers/testing")
	linkRaw, link := example(t, "POST", "/connect/v2/generate/lite")
	instRaw, insts := example(t, "GET", "/institution/v2/institutions")
	p := finicityReplayEmbed(t, map[string][]byte{
		"POST /aggregation/v2/partners/authentication": auth,
		"POST /aggregation/v2/customers/active":        custRaw,
		"POST /connect/v2/generate/lite":               linkRaw,
		"GET /institution/v2/institutions":             bytes.Replace(instRaw, []byte(`"moreAvailable":true`), []byte(`"moreAvailable":false`), 1),
	})
	id, err := p.CreateUser(t.Context(), nil, "someone")
	if err != nil || id != str(cust["id"]) {
		t.Errorf("customer %q, %v", id, err)
	}
	start, err := p.StartLogin(t.Context(), banklink.LoginRequest{ProviderInstitutionID: "102105", ProviderUserID: id})
	if err != nil || start.RedirectURL != str(link["link"]) || start.Embed == nil || start.Embed.Origin != finicity.ConnectOrigin {
		t.Errorf("start %+v, %v", start, err)
	}
	got, err := p.Institutions(t.Context())
	in := obj(list(insts["institutions"])[0])
	if err != nil || len(got) != 1 || got[0].Name != str(in["name"]) || got[0].Providers[finicity.ProviderType].ProviderInstitutionID != "4222" ||
		got[0].Images.Icon != str(obj(in["branding"])["icon"]) || got[0].Images.Tile != str(obj(in["branding"])["tile"]) ||
		got[0].Images.Color != strings.ToLower(str(obj(in["branding"])["primaryColor"])) || got[0].Images.Color == "" || got[0].Regions[0] != "CA" {
		t.Errorf("institutions %+v, %v", got, err)
	}
}

// finicityReplayEmbed is replay with Data Connect embedded and Finicity's
// own API host assumed for the Connect origin.
func finicityReplayEmbed(t *testing.T, routes map[string][]byte) *finicity.Provider {
	t.Helper()
	mux := http.NewServeMux()
	for pattern, body := range routes {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/customers/") {
				w.WriteHeader(http.StatusCreated)
			}
			w.Write(body)
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return finicity.New(finicity.Config{PartnerID: "p", PartnerSecret: "s", AppKey: "k", BaseURL: srv.URL, Embed: true, ConnectOrigin: finicity.ConnectOrigin})
}
