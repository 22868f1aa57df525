package httpapi_test

import (
	"net/http"
	"testing"

	"banklink/internal/httpapi"
)

var dialects = []string{"sqlite", "postgres"}

// TestJSONBodyText: a JSON string (a name included) holding a NUL escape,
// invalid UTF-8 or an unpaired surrogate escape is a 400 naming the
// field. encoding/json used to turn the last two into U+FFFD, so "\xff"
// and "\xfe" became the same customer, and PostgreSQL refused the NUL
// with a 500.
func TestJSONBodyText(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			ts := newTestServer(t, dialect)
			for _, tc := range []struct {
				name, path, body, field string
			}{
				{"NUL escape", "/accounts/customers", `{"externalId":"a\u0000b"}`, "externalId"},
				{"raw bad UTF-8", "/accounts/customers", "{\"externalId\":\"\xff\"}", "externalId"},
				{"another bad byte", "/accounts/customers", "{\"externalId\":\"\xfe\"}", "externalId"},
				{"lone high surrogate", "/accounts/customers", `{"externalId":"\ud800"}`, "externalId"},
				{"lone low surrogate", "/accounts/customers", `{"externalId":"x\udc00"}`, "externalId"},
				{"high surrogate then a letter", "/accounts/customers", `{"externalId":"\ud800\u0041"}`, "externalId"},
				{"high surrogate at the end", "/accounts/customers", `{"externalId":"ok","phone":"1\uDBFF"}`, "phone"},
				{"nested field", "/accounts/customers", `{"externalId":"ok","name":{"firstName":"\u0000"}}`, "name.firstName"},
				{"array item", "/bank-linking/connect/start", `{"externalCustomerId":"c","products":["BALANCES","\ud834"]}`, "products[1]"},
				{"after an array", "/bank-linking/connect/start", `{"products":["BALANCES",["x"]],"externalCustomerId":"\u0000"}`, "externalCustomerId"},
				{"bad UTF-8 in a name", "/accounts/customers", "{\"externalId\":\"ok\",\"\xfe\":1}", "\ufffd"},
				{"connect/start", "/bank-linking/connect/start", `{"externalCustomerId":"\u0000"}`, "externalCustomerId"},
				{"webhook test", "/webhooks/test", `{"profileId":"\u0000"}`, "profileId"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					r := ts.do(call{path: tc.path, body: tc.body})
					if r.status != http.StatusBadRequest {
						t.Fatalf("%s %s: %d %s, want 400", tc.path, tc.body, r.status, r.body)
					}
					if e := r.errorBody(t); e.Code != "BAD_REQUEST" || e.Field != tc.field {
						t.Errorf("error %+v, want BAD_REQUEST about %q", e, tc.field)
					}
				})
			}

			// Valid escapes, surrogate pairs included, and an escaped
			// backslash before a u are text like any other.
			var c httpapi.CustomerJSON
			r := ts.do(call{path: "/accounts/customers", body: `{"externalId":"caf\u00e9 \ud83d\ude00 \\u0000"}`})
			if r.status != http.StatusCreated {
				t.Fatalf("valid escapes: %d %s", r.status, r.body)
			}
			r.json(t, &c)
			if c.ExternalID != `café 😀 \u0000` {
				t.Errorf("externalId = %q", c.ExternalID)
			}
		})
	}
}
