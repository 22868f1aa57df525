package httpapi_test

import (
	"strings"
	"testing"

	"banklink/internal/sandbox"
)

func TestServiceProviderAndRoutingErrors(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	long := strings.Repeat("x", 5000)
	for _, tt := range []struct {
		name, method, path, body string
		status                   int
		message                  string
	}{
		{"unknown provider", "PUT", "/service-providers/NOPE", `{"enabled":true}`, 404, "not available"},
		{"empty body", "PUT", "/service-providers/SANDBOX", ``, 400, "empty"},
		{"bad order", "PUT", "/service-providers/SANDBOX", `{"displayOrder":-1}`, 400, "[displayOrder]"},
		{"empty credential", "PUT", "/service-providers/SANDBOX", `{"credentials":{"secret":""}}`, 400, "[credentials]"},
		{"huge credential", "PUT", "/service-providers/SANDBOX", `{"credentials":{"secret":"` + long + `"}}`, 400, "[credentials]"},
		{"bad credential name", "PUT", "/service-providers/SANDBOX", `{"credentials":{"a b":"x"}}`, 400, "[credentials]"},
		{"wrong type", "PUT", "/service-providers/SANDBOX", `{"enabled":"yes"}`, 400, "enabled"},
		{"delete unconfigured", "DELETE", "/service-providers/SANDBOX", ``, 404, ""},
		{"rules null", "PUT", "/routing/rules", `{}`, 400, "[rules]"},
		{"rule for unknown institution", "PUT", "/routing/rules", `{"rules":[{"institutionId":"nope","serviceProvider":"SANDBOX","action":"FORCE"}]}`, 400, "does not exist"},
		{"rule for unknown provider", "PUT", "/routing/rules", `{"rules":[{"institutionId":"` + sandbox.TestBankID + `","serviceProvider":"NOPE","action":"FORCE"}]}`, 400, "not available"},
		{"rule with bad action", "PUT", "/routing/rules", `{"rules":[{"institutionId":"` + sandbox.TestBankID + `","serviceProvider":"SANDBOX","action":"PREFER"}]}`, 400, "FORCE or EXCLUDE"},
		{"no key", "GET", "/service-providers", ``, 401, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := call{method: tt.method, path: tt.path, body: tt.body}
			if tt.status == 401 {
				c.key = "-"
			}
			r := ts.do(c)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if e := r.errorBody(t); !strings.Contains(e.Message, tt.message) {
				t.Errorf("message %q, want %q", e.Message, tt.message)
			}
		})
	}
	// The happy path round trip.
	if r := ts.do(call{method: "PUT", path: "/service-providers/SANDBOX", body: `{"credentials":{"clientId":"c","secret":"s"}}`}); r.status != 201 || strings.Contains(string(r.body), `"s"`) {
		t.Errorf("configure: %d %s", r.status, r.body)
	}
	r := ts.do(call{method: "PUT", path: "/routing/rules", body: `{"rules":[{"institutionId":"` + sandbox.TestBankID + `","serviceProvider":"SANDBOX","action":"EXCLUDE"}]}`})
	if r.status != 200 || !strings.Contains(string(r.body), "EXCLUDE") {
		t.Errorf("rules: %d %s", r.status, r.body)
	}
	if r := ts.do(call{method: "GET", path: "/routing/rules"}); !strings.Contains(string(r.body), sandbox.TestBankID) {
		t.Errorf("get rules: %s", r.body)
	}
}
