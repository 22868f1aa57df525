package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"banklink/internal/httpapi"
)

// TestTextInput: a NUL byte or invalid UTF-8 in a path id or a query
// value is a 400 naming the parameter, on both databases. PostgreSQL
// cannot store either (SQLSTATE 22021): these were 500s there.
func TestTextInput(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			ts := newTestServer(t, dialect)
			for _, tc := range []struct {
				name, method, path, body, field string
			}{
				{"path NUL", "GET", "/bank-linking/connections/%00", "", "id"},
				{"path bad UTF-8", "GET", "/bank-linking/connections/%ff", "", "id"},
				{"path NUL inside", "GET", "/bank-linking/accounts/abc%00def", "", "id"},
				{"path on transactions", "GET", "/bank-linking/transactions/%fe%ff", "", "id"},
				{"path on holdings", "GET", "/bank-linking/investments/holdings/%00", "", "id"},
				{"path on investment transactions", "GET", "/bank-linking/investments/transactions/%c3", "", "id"},
				{"path on delete customer", "DELETE", "/accounts/customers/%00", "", "id"},
				{"path on delete connection", "DELETE", "/bank-linking/connections/%ff", "", "id"},
				{"path on refresh", "POST", "/bank-linking/connections/%00/refresh", "", "id"},
				{"path on webhook event", "GET", "/webhooks/events/%00", "", "id"},
				{"path on webhook profile", "DELETE", "/webhooks/profiles/%ff", "", "id"},
				{"path on institution", "GET", "/institutions/%00", "", "id"},
				{"path on service provider", "DELETE", "/service-providers/%ff", "", "provider"},
				{"query NUL", "GET", "/bank-linking/connections?customerId=%00", "", "customerId"},
				{"query bad UTF-8", "GET", "/bank-linking/connections?externalCustomerId=%ff", "", "externalCustomerId"},
				{"query list item", "GET", "/accounts/customers?customerIds=a,%00", "", "customerIds"},
				{"query on accounts", "GET", "/bank-linking/accounts?connectionId=%ff", "", "connectionId"},
				{"query on transactions", "GET", "/bank-linking/transactions?financialAccountId=%00", "", "financialAccountId"},
				{"query on events", "GET", "/webhooks/events?connectionId=%ff", "", "connectionId"},
				{"query cursor", "GET", "/bank-linking/transactions?after=%00", "", "after"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					r := ts.do(call{method: tc.method, path: tc.path, body: tc.body})
					if r.status != http.StatusBadRequest {
						t.Fatalf("%s %s: %d %s, want 400", tc.method, tc.path, r.status, r.body)
					}
					if e := r.errorBody(t); e.Code != "BAD_REQUEST" || e.Field != tc.field {
						t.Errorf("error %+v, want BAD_REQUEST about %q", e, tc.field)
					}
				})
			}

		})
	}
}

// TestQueryParameters: each route takes its documented query parameters
// and nothing else. An unknown name (a typo such as customerID), an empty
// value, a scalar given twice or a malformed query string used to be
// ignored, returning unfiltered data; each is now a 400 naming the
// parameter.
func TestQueryParameters(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	for _, tc := range []struct {
		name, method, path, field, msg string
	}{
		{"typo", "GET", "/bank-linking/connections?customerID=x", "customerID", "not a parameter"},
		{"unknown on accounts", "GET", "/bank-linking/accounts?fromDate=2026-01-01", "fromDate", "not a parameter"},
		{"empty date", "GET", "/bank-linking/transactions?startDate=", "startDate", "must not be empty"},
		{"empty filter", "GET", "/bank-linking/connections?customerId=", "customerId", "must not be empty"},
		{"empty limit", "GET", "/accounts/customers?limit=", "limit", "must not be empty"},
		{"empty list", "GET", "/bank-linking/connections?statuses=", "statuses", "must not be empty"},
		{"list of empties", "GET", "/institutions?regions=,,,", "regions", "empty item"},
		{"scalar twice", "GET", "/bank-linking/accounts?customerId=a&customerId=b", "customerId", "once"},
		{"unknown on item route", "GET", "/bank-linking/connections/x?expand=all", "expand", "not a parameter"},
		{"unknown on route without parameters", "GET", "/webhooks/profiles?limit=5", "limit", "not a parameter"},
		{"unknown on POST", "POST", "/webhooks/test?dryRun=true", "dryRun", "not a parameter"},
		{"unknown on events", "GET", "/webhooks/events?eventType=WEBHOOK_TEST", "eventType", "not a parameter"},
		{"bad escape", "GET", "/bank-linking/connections?customerId=%zz", "", "query string"},
		{"semicolon", "GET", "/institutions?name=a;limit=5", "", "query string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := ""
			if tc.method == "POST" {
				body = "{}"
			}
			r := ts.do(call{method: tc.method, path: tc.path, body: body})
			if r.status != http.StatusBadRequest {
				t.Fatalf("%s: %d %s, want 400", tc.path, r.status, r.body)
			}
			e := r.errorBody(t)
			if e.Field != tc.field || !strings.Contains(e.Message, tc.msg) {
				t.Errorf("error %+v, want field %q and %q", e, tc.field, tc.msg)
			}
		})
	}
	// What the clients in this repository send still works.
	for _, path := range []string{
		"/bank-linking/connections?customerId=x&externalCustomerId=y&institutionId=z&statuses=ACTIVE,IN_PROGRESS&serviceProviders=SANDBOX&startDate=2026-01-01&endDate=2026-12-31&limit=5",
		"/bank-linking/accounts?limit=100&connectionId=abc",
		"/bank-linking/transactions?limit=1000&connectionId=abc&status=POSTED&category=FEE&startDate=2026-01-01",
		"/bank-linking/investments/holdings?limit=1000&connectionId=abc",
		"/bank-linking/investments/transactions?limit=1000&connectionId=abc&statuses=PENDING&statuses=POSTED",
		"/accounts/customers?customerIds=a,b&email=jane@example.com&status=ACTIVE&type=INDIVIDUAL",
		"/institutions?name=first&limit=20&regions=US,CA-QC&products=TRANSACTIONS&type=BANK&serviceProviders=SANDBOX&allowRedirect=false",
		"/webhooks/events?limit=100&eventTypes=BANK_LINKING_CONNECTION_COMPLETED&connectionId=abc",
	} {
		if r := ts.do(call{method: "GET", path: path}); r.status != http.StatusOK {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
}

// TestListFilterLimit: every multi-valued filter takes at most
// MaxListItems items. 1,000 statuses (or 500 EXPIRED, three terms each)
// used to be a 500 on SQLite ("Expression tree is too large"), and 40,000
// customerIds took 20 s before failing.
func TestListFilterLimit(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	items := func(v string, n int) string { return strings.TrimSuffix(strings.Repeat(v+",", n), ",") }
	over := httpapi.MaxListItems + 1
	for _, tc := range []struct{ path, field string }{
		{"/bank-linking/connections?statuses=" + items("ACTIVE", 1000), "statuses"},
		{"/bank-linking/connections?statuses=" + items("EXPIRED", 500), "statuses"},
		{"/bank-linking/connections?statuses=" + items("EXPIRED", over), "statuses"},
		{"/bank-linking/connections?serviceProviders=" + items("SANDBOX", over), "serviceProviders"},
		{"/bank-linking/investments/transactions?statuses=" + items("POSTED", over), "statuses"},
		{"/accounts/customers?customerIds=" + items("x", 40000), "customerIds"},
		{"/institutions?regions=" + items("US", over), "regions"},
		{"/institutions?products=" + items("BALANCES", over), "products"},
		{"/institutions?type=" + items("BANK", over), "type"},
		{"/institutions?serviceProviders=" + items("SANDBOX", over), "serviceProviders"},
		{"/webhooks/events?eventTypes=" + items("WEBHOOK_TEST", over), "eventTypes"},
		// Repeating the parameter counts too.
		{"/accounts/customers?" + strings.Repeat("customerIds=a,b&", httpapi.MaxListItems/2) + "customerIds=c", "customerIds"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			r := ts.do(call{method: "GET", path: tc.path})
			if r.status != http.StatusBadRequest {
				t.Fatalf("%.80s…: %d %.300s", tc.path, r.status, r.body)
			}
			e := r.errorBody(t)
			if e.Field != tc.field || !strings.Contains(e.Message, fmt.Sprint(httpapi.MaxListItems)) {
				t.Errorf("error %+v, want one about %s naming the limit", e, tc.field)
			}
		})
	}
	// The limit itself is accepted.
	for _, path := range []string{
		"/bank-linking/connections?statuses=" + items("EXPIRED", httpapi.MaxListItems),
		"/accounts/customers?customerIds=" + items("x", httpapi.MaxListItems),
	} {
		if r := ts.do(call{method: "GET", path: path}); r.status != http.StatusOK {
			t.Errorf("%.80s…: %d %s", path, r.status, r.body)
		}
	}
}
