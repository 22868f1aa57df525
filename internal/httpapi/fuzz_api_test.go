package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/apitest"
	"banklink/internal/httpapi"
	"banklink/internal/linking"
)

// fuzzRoutes are every GET and DELETE list and item endpoint of the API;
// {} is where the fuzzed path id goes.
var fuzzRoutes = []struct{ method, path, seed string }{
	{"GET", "/bank-linking/connections", ""},
	{"GET", "/bank-linking/connections/{}", "connection"},
	{"DELETE", "/bank-linking/connections/{}", "connection"},
	{"GET", "/bank-linking/accounts", ""},
	{"GET", "/bank-linking/accounts/{}", "account"},
	{"GET", "/bank-linking/transactions", ""},
	{"GET", "/bank-linking/transactions/{}", "transaction"},
	{"GET", "/bank-linking/investments/holdings", ""},
	{"GET", "/bank-linking/investments/holdings/{}", "holding"},
	{"GET", "/bank-linking/investments/transactions", ""},
	{"GET", "/bank-linking/investments/transactions/{}", "investmentTransaction"},
	{"GET", "/accounts/customers", ""},
	{"DELETE", "/accounts/customers/{}", "customer"},
	{"GET", "/institutions", ""},
	{"GET", "/institutions/{}", "institution"},
	{"GET", "/service-providers", ""},
	{"DELETE", "/service-providers/{}", "provider"},
	{"GET", "/routing/rules", ""},
	{"GET", "/webhooks/profiles", ""},
	{"GET", "/webhooks/profiles/{}", "profile"},
	{"DELETE", "/webhooks/profiles/{}", "profile"},
	{"GET", "/webhooks/events", ""},
	{"GET", "/webhooks/events/{}", "event"},
}

// FuzzAPIInputsSQLite and FuzzAPIInputsPostgres send arbitrary path ids
// and query parameters (a name and value, then any raw query text) to
// every list and item endpoint of a real server on a real database. No
// answer may be a 5xx, and every answer, errors included, must match
// openapi.yaml and the error format (the validating client checks both).
// The seeds run in every go test; fuzz one backend at a time:
//
//	go test ./internal/httpapi -run '^$' -fuzz FuzzAPIInputsSQLite -fuzztime 2m
func FuzzAPIInputsSQLite(f *testing.F)   { fuzzAPIInputs(f, "sqlite") }
func FuzzAPIInputsPostgres(f *testing.F) { fuzzAPIInputs(f, "postgres") }

func fuzzAPIInputs(f *testing.F, dialect string) {
	ts := newTestServer(f, dialect)
	ids := seedFuzzData(f, ts)
	for i, r := range fuzzRoutes {
		route := uint8(i)
		id := ids[r.seed]
		if r.method == "DELETE" {
			id += "x" // keep the seeded records for every other input
		}
		f.Add(route, id, "limit", "2", "")
		f.Add(route, "\x00", "customerId", "\x00", "")
		f.Add(route, "\xff\xfe", "after", ids["key"], "before=x")
		f.Add(route, "a/b", "statuses", "ACTIVE,,EXPIRED", "statuses=IN_PROGRESS")
		f.Add(route, "%zz", "startDate", "2026-13-45", "endDate=2026-01-01&limit=0")
		f.Add(route, strings.Repeat("x", 300), "customerIds", strings.Repeat("a,", 120), "%zz=1")
		f.Add(route, "\xed\xa0\x80", "name", "\u0000", "regions=US;CA")
		f.Add(route, "..", "eventTypes", "WEBHOOK_TEST", "limit=99999999999999999999")
		f.Add(route, "", "", "", "a=1&a=2&&=")
	}
	f.Add(uint8(0), "", "statuses", strings.TrimSuffix(strings.Repeat("EXPIRED,", 500), ","), "")
	f.Add(uint8(0), "", "after", banklink.LatestCursor, "")
	f.Add(uint8(5), "", "after", ids["txKey"], "limit=1")
	f.Add(uint8(13), "", "name", "sandbox", "products=BALANCES&regions=US&type=BANK&serviceProviders=SANDBOX&allowRedirect=true")
	f.Fuzz(func(t *testing.T, route uint8, id, name, value, rawQuery string) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		if strings.Contains(r.path, "{}") && id == "" {
			// ".../connections/" is another path (a 404), which the
			// validating client's router takes for the list.
			id = "-"
		}
		path := strings.Replace(r.path, "{}", url.PathEscape(id), 1)
		query := url.Values{name: {value}}.Encode()
		if rawQuery != "" {
			query += "&" + rawQuery
		}
		req, err := http.NewRequest(r.method, ts.URL+path+"?"+query, nil)
		if err != nil || strings.ContainsAny(query, " \x7f#") || strings.ContainsFunc(query, func(c rune) bool { return c < 0x20 }) {
			return // not a request an HTTP client can send
		}
		req.Header.Set("Authorization", "BASIC "+ts.key)
		resp, err := apitest.Client(t, httpapi.OpenAPI).Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", r.method, req.URL, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s: %d %s", r.method, req.URL, resp.StatusCode, body)
		}
	})
}

// seedFuzzData gives the fuzzed server one of everything, so ids, keys and
// filters can find records. It returns their ids and two cursor keys.
func seedFuzzData(tb testing.TB, ts *testServer) map[string]string {
	ctx := context.Background()
	scope := banklink.Scope{AccountID: ts.account.ID, Environment: banklink.Sandbox}
	var start linking.StartResponse
	ts.do(call{path: "/bank-linking/connect/start", body: `{"externalCustomerId":"fuzz"}`}).json(tb, &start)
	var profile struct{ ID string }
	ts.do(call{path: "/webhooks/profiles", body: `{"url":"http://127.0.0.1:9/hook"}`}).json(tb, &profile)
	var event struct{ EventID string }
	ts.do(call{path: "/webhooks/test", body: `{}`}).json(tb, &event)
	day := time.Now().UTC().Format(time.DateOnly)
	if _, err := ts.store.SaveAggregation(ctx, scope, start.ID, []banklink.AggregatedAccount{{
		ProviderAccountID: "acct", Type: "DEPOSITORY", Subtype: "CHECKING", Name: "Checking", Mask: "1234",
		Transactions: []banklink.Transaction{{ProviderTransactionID: "t1", Amount: 5, Currency: "USD", Description: "Coffee", TransactionDate: day,
			Status: banklink.TxPosted, PostedDate: day, Category: "FOOD_AND_DRINK", Recurring: banklink.RecurringNo}},
		Holdings: []banklink.Holding{{ProviderHoldingID: "h1", Symbol: "VTI", Quantity: 1, ClosePrice: 200, CurrentValue: 200, Currency: "USD", Type: "ETF"}},
		InvestmentTransactions: []banklink.InvestmentTransaction{{ProviderTransactionID: "i1", Amount: 200, Quantity: 1, Price: 200, Symbol: "VTI",
			Currency: "USD", TransactionDate: day, Status: banklink.TxPosted, Type: "BUY"}},
	}}, true, time.Now()); err != nil {
		tb.Fatal(err)
	}
	first := func(path, list string) (id, key string) {
		var out map[string]json.RawMessage
		ts.do(call{method: "GET", path: path}).json(tb, &out)
		var items []struct{ ID, Key string }
		if err := json.Unmarshal(out[list], &items); err != nil || len(items) == 0 {
			tb.Fatalf("%s: nothing seeded (%v)", path, err)
		}
		return items[0].ID, items[0].Key
	}
	acct, _ := first("/bank-linking/accounts", "financialAccounts")
	tx, txKey := first("/bank-linking/transactions", "financialAccountTransactions")
	holding, _ := first("/bank-linking/investments/holdings", "investmentHoldings")
	itx, _ := first("/bank-linking/investments/transactions", "investmentTransactions")
	_, key := first("/bank-linking/connections", "connections")
	inst := testDirectory()[0].ID
	return map[string]string{"connection": start.ID, "account": acct, "transaction": tx, "holding": holding, "investmentTransaction": itx,
		"customer": start.CustomerID, "institution": inst, "provider": "SANDBOX", "profile": profile.ID, "event": event.EventID,
		"key": key, "txKey": txKey}
}
