package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/httpapi"
	"banklink/internal/linking"
)

func TestGetConnection(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	var started linking.StartResponse
	ts.do(call{path: "/bank-linking/connect/start", body: seedBody}).json(t, &started)

	r := ts.do(call{method: http.MethodGet, path: "/bank-linking/connections/" + started.ID})
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var c httpapi.ConnectionJSON
	r.json(t, &c)
	if c.ID != started.ID || c.CustomerID != started.CustomerID || c.ExternalCustomerID != "testCustomer" || c.Status != "IN_PROGRESS" ||
		c.AccountID != ts.account.ID || len(c.Products) != 6 || c.InstitutionID != nil || c.CompletedAt != nil {
		t.Errorf("connection = %+v", c)
	}

	// Another account's key gets 404, never data.
	other := &banklink.Account{ID: banklink.NewID(), Name: "Other"}
	if err := ts.store.CreateAccount(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{ts.newKey(other.ID, banklink.Sandbox), ts.newKey(ts.account.ID, banklink.Production)} {
		r := ts.do(call{method: http.MethodGet, path: "/bank-linking/connections/" + started.ID, key: key})
		if r.status != 404 || strings.Contains(string(r.body), started.CustomerID) {
			t.Errorf("other scope: %d %s", r.status, r.body)
		}
	}
	if r := ts.do(call{method: http.MethodGet, path: "/bank-linking/connections/nope"}); r.status != 404 {
		t.Errorf("unknown id: %d", r.status)
	}

	// After the completion window an unfinished connection reads EXPIRED.
	ts.api.Now = func() time.Time { return time.Now().Add(4*time.Hour + time.Minute) }
	defer func() { ts.api.Now = time.Now }()
	ts.do(call{method: http.MethodGet, path: "/bank-linking/connections/" + started.ID}).json(t, &c)
	if c.Status != "EXPIRED" {
		t.Errorf("status after 4h = %s", c.Status)
	}
}

func TestSearchConnections(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	var ids []string
	for i := range 7 {
		var resp linking.StartResponse
		ts.do(call{path: "/bank-linking/connect/start", body: fmt.Sprintf(`{"externalCustomerId":"cust-%d"}`, i%2)}).json(t, &resp)
		ids = append(ids, resp.ID)
	}
	list := func(q string) httpapi.ConnectionList {
		t.Helper()
		r := ts.do(call{method: http.MethodGet, path: "/bank-linking/connections?" + q})
		if r.status != 200 {
			t.Fatalf("?%s: %d %s", q, r.status, r.body)
		}
		var l httpapi.ConnectionList
		r.json(t, &l)
		return l
	}
	if l := list("limit=3"); l.Count != 3 || l.Remaining != 4 || l.Connections[0].ID != ids[0] {
		t.Errorf("first page = %d/%d", l.Count, l.Remaining)
	}
	var walked []string
	q := "limit=3"
	for {
		l := list(q)
		for _, c := range l.Connections {
			walked = append(walked, c.ID)
		}
		if l.Remaining == 0 {
			break
		}
		q = "limit=3&after=" + l.Connections[len(l.Connections)-1].Key
	}
	if fmt.Sprint(walked) != fmt.Sprint(ids) {
		t.Errorf("walk = %v, want %v", walked, ids)
	}
	if l := list("externalCustomerId=cust-1"); l.Count != 3 {
		t.Errorf("by external id: %d", l.Count)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	if l := list("statuses=IN_PROGRESS,ACTIVE&startDate=" + today + "&endDate=" + today); l.Count != 7 {
		t.Errorf("by status and date: %d", l.Count)
	}
	if l := list("statuses=active"); l.Count != 0 {
		t.Errorf("ACTIVE: %d", l.Count)
	}

	for _, tc := range []struct{ q, msg string }{
		{"limit=0", "[limit]"},
		{"limit=101", "[limit]"},
		{"after=bogus", "[after]"},
		{"before=bogus", "[before]"},
		{"after=a&before=b", "not both"},
		{"statuses=DONE", "[statuses]"},
		{"startDate=24-11-2026", "[startDate]"},
		{"startDate=2026-11-25&endDate=2026-11-24", "[endDate]"},
	} {
		t.Run(tc.q, func(t *testing.T) {
			r := ts.do(call{method: http.MethodGet, path: "/bank-linking/connections?" + tc.q})
			if r.status != 400 || !strings.Contains(r.errorBody(t).Message, tc.msg) {
				t.Errorf("%d %s", r.status, r.body)
			}
		})
	}
	if r := ts.do(call{method: http.MethodGet, path: "/bank-linking/connections", key: "-"}); r.status != 401 {
		t.Errorf("no key: %d", r.status)
	}
}
