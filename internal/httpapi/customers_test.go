package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"banklink"
	"banklink/internal/httpapi"
	"banklink/internal/linking"
)

func TestCustomersAPI(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	r := ts.do(call{path: "/accounts/customers", body: `{"externalId":"cust-1","name":{"firstName":"Jane","lastName":"Doe"},"email":"jane_d@example.com","phone":"+1 555 0100","dateOfBirth":"1990-04-01"}`})
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var c httpapi.CustomerJSON
	r.json(t, &c)
	if c.ExternalID != "cust-1" || c.Name.FirstName != "Jane" || *c.Email != "jane_d@example.com" || c.Status != "ACTIVE" {
		t.Errorf("customer = %+v", c)
	}
	// Same externalId: the same customer, 200.
	r = ts.do(call{path: "/accounts/customers", body: `{"externalId":"cust-1"}`})
	var again httpapi.CustomerJSON
	r.json(t, &again)
	if r.status != 200 || again.ID != c.ID || *again.Email != "jane_d@example.com" {
		t.Errorf("second create: %d %+v", r.status, again)
	}
	// connect/start for the same external id reuses the customer.
	var started linking.StartResponse
	ts.do(call{path: "/bank-linking/connect/start", body: `{"externalCustomerId":"cust-1"}`}).json(t, &started)
	if started.CustomerID != c.ID {
		t.Errorf("connect/start made customer %s, want %s", started.CustomerID, c.ID)
	}
	ts.do(call{path: "/accounts/customers", body: `{"externalId":"a-first"}`})

	var list struct {
		Customers []httpapi.CustomerJSON `json:"customers"`
		Count     int
		Remaining int
	}
	ts.do(call{method: http.MethodGet, path: "/accounts/customers?limit=1"}).json(t, &list)
	if list.Count != 1 || list.Remaining != 1 || list.Customers[0].ExternalID != "a-first" {
		t.Errorf("list = %+v", list)
	}
	ts.do(call{method: http.MethodGet, path: "/accounts/customers?email=jane_d@example.com"}).json(t, &list)
	if list.Count != 1 || list.Customers[0].ID != c.ID {
		t.Errorf("by email = %+v", list)
	}

	if r := ts.do(call{method: http.MethodDelete, path: "/accounts/customers/" + c.ID}); r.status != 200 || !strings.Contains(string(r.body), `"isDeleted":true`) {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	if r := ts.do(call{method: http.MethodDelete, path: "/accounts/customers/" + c.ID}); r.status != 404 {
		t.Errorf("second delete: %d", r.status)
	}
	var conn httpapi.ConnectionJSON
	ts.do(call{method: http.MethodGet, path: "/bank-linking/connections/" + started.ID}).json(t, &conn)
	if conn.Status != "DELETED" {
		t.Errorf("connection after customer delete: %s", conn.Status)
	}
	// Another account sees none of it.
	other := &banklink.Account{ID: banklink.NewID(), Name: "Other"}
	ts.store.CreateAccount(t.Context(), other)
	ts.do(call{method: http.MethodGet, path: "/accounts/customers", key: ts.newKey(other.ID, banklink.Sandbox)}).json(t, &list)
	if list.Count != 0 {
		t.Errorf("other account sees %d customers", list.Count)
	}
}

func TestCustomersErrors(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	for _, tc := range []struct {
		name, method, path, body, msg string
		status                        int
	}{
		{"missing externalId", "POST", "/accounts/customers", `{"email":"a@b.co"}`, "[externalId] must not be null", 400},
		{"empty externalId", "POST", "/accounts/customers", `{"externalId":" "}`, "[externalId] must not be empty", 400},
		{"bad email", "POST", "/accounts/customers", `{"externalId":"x","email":"not-an-email"}`, "[email]", 400},
		{"bad date of birth", "POST", "/accounts/customers", `{"externalId":"x","dateOfBirth":"01/02/1990"}`, "[dateOfBirth]", 400},
		{"future date of birth", "POST", "/accounts/customers", `{"externalId":"x","dateOfBirth":"2999-01-01"}`, "[dateOfBirth]", 400},
		{"wrong type", "POST", "/accounts/customers", `{"externalId":5}`, "[externalId] must be a string", 400},
		{"bad limit", "GET", "/accounts/customers?limit=500", "", "[limit]", 400},
		{"bad cursor", "GET", "/accounts/customers?after=nope", "", "[after]", 400},
		{"bad status", "GET", "/accounts/customers?status=GONE", "", "[status]", 400},
		{"unknown customer", "DELETE", "/accounts/customers/nope", "", "not found", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(call{method: tc.method, path: tc.path, body: tc.body})
			if r.status != tc.status || !strings.Contains(r.errorBody(t).Message, tc.msg) {
				t.Errorf("%d %s", r.status, r.body)
			}
		})
	}
}
