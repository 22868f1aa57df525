package contract

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// answer is a fake provider that answers every request with status and
// body, whatever was asked.
func answer(contentType string, status int, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
}

// A valid /accounts/get answer, and one with a deliberate mistake each.
const (
	plaidAccount = `{"account_id":"acc-1","balances":{"available":100,"current":110,"limit":null,"iso_currency_code":"USD","unofficial_currency_code":null},` +
		`"mask":"0000","name":"Plaid Checking","official_name":null,"type":"depository","subtype":"checking"}`
	plaidItem = `{"item_id":"item-1","webhook":null,"error":null,"available_products":["balance"],"billed_products":["transactions"],` +
		`"consent_expiration_time":null,"update_type":"background"}`
	accountsOK = `{"accounts":[` + plaidAccount + `],"item":` + plaidItem + `,"request_id":"req-1"}`
)

// TestCheckerCatchesDrift: the validator itself. Each case sends one
// request through a Checker to a fake answering one body, and names the
// violations it must find (by a part of their text); a correct exchange
// finds none.
func TestCheckerCatchesDrift(t *testing.T) {
	const ct = "application/json"
	for _, tc := range []struct {
		name       string
		spec       *Spec
		method     string
		path, body string
		// answer of the fake
		status       int
		answerType   string
		answer       string
		want         []string
		exempt       []string
		wantRequests int
	}{
		{name: "a correct exchange", spec: Plaid, method: "POST", path: "/accounts/get",
			body:   `{"client_id":"c","secret":"s","access_token":"access-1","options":{"account_ids":["acc-1"]}}`,
			status: 200, answer: accountsOK, wantRequests: 1},
		{name: "a misspelt request field", spec: Plaid, method: "POST", path: "/accounts/get",
			body:   `{"client_id":"c","secret":"s","acces_token":"access-1"}`,
			status: 200, answer: accountsOK, wantRequests: 1,
			want: []string{`POST /accounts/get request: $.acces_token is not in the spec`, `property "access_token" is missing`}},
		{name: "a request field of the wrong type", spec: Plaid, method: "POST", path: "/transactions/sync",
			body:   `{"client_id":"c","secret":"s","access_token":"access-1","count":"500"}`,
			status: 200, answer: `{}`, wantRequests: 1,
			want: []string{`POST /transactions/sync request: at /count: value must be an integer`}},
		{name: "an invented response field", spec: Plaid, method: "POST", path: "/accounts/get",
			body:   `{"client_id":"c","secret":"s","access_token":"access-1"}`,
			status: 200, answer: strings.Replace(accountsOK, `"mask":"0000"`, `"mask":"0000","nickname":"Main"`, 1), wantRequests: 1,
			want: []string{`POST /accounts/get: 200 response: $.accounts[].nickname is not in the spec`}},
		{name: "a null where the spec says never null", spec: Plaid, method: "POST", path: "/accounts/get",
			body:   `{"client_id":"c","secret":"s","access_token":"access-1"}`,
			status: 200, answer: strings.Replace(accountsOK, `"name":"Plaid Checking"`, `"name":null`, 1), wantRequests: 1,
			want: []string{`POST /accounts/get: 200 response: at /accounts/*/name: Value is not nullable`}},
		{name: "a required response field left out", spec: Plaid, method: "POST", path: "/accounts/get",
			body:   `{"client_id":"c","secret":"s","access_token":"access-1"}`,
			status: 200, answer: strings.Replace(accountsOK, `"official_name":null,`, ``, 1), wantRequests: 1,
			want: []string{`at /accounts/*/official_name: property "official_name" is missing`}},
		{name: "an error answer that is not Plaid's error object", spec: Plaid, method: "POST", path: "/accounts/get",
			body:   `{"client_id":"c","secret":"s","access_token":"access-1"}`,
			status: 400, answer: `{"error":"bad"}`, wantRequests: 1,
			want: []string{`POST /accounts/get: 400 response: at /error_code: property "error_code" is missing`, `$.error is not in the spec`}},
		{name: "an endpoint Plaid does not have", spec: Plaid, method: "POST", path: "/accounts/list",
			body: `{}`, status: 200, answer: `{}`,
			want: []string{`POST /accounts/list is not in the plaid spec`}},
		{name: "a page that is not the API passes", spec: Plaid, method: "GET", path: "/hl/abc",
			status: 200, answerType: "text/html", answer: `<p>Hosted Link`, exempt: []string{"/hl/"}},
		{name: "MX: a correct list", spec: MX, method: "GET", path: "/institutions?page=1&records_per_page=100",
			status: 200, answerType: "application/vnd.mx.api.v1+json", wantRequests: 1,
			answer: `{"institutions":[{"code":"mxbank","name":"MX Bank","supports_oauth":false}],"pagination":{"current_page":1,"per_page":100,"total_entries":1,"total_pages":1}}`},
		{name: "MX: a query parameter the endpoint does not take", spec: MX, method: "GET", path: "/institutions?page=1&per_page=100",
			status: 200, answerType: "application/vnd.mx.api.v1+json", wantRequests: 1,
			answer: `{"institutions":[],"pagination":{"current_page":1,"per_page":25,"total_entries":0,"total_pages":1}}`,
			want:   []string{`GET /institutions: query parameter "per_page" is not in the spec`}},
		{name: "MX: a response field of the wrong type", spec: MX, method: "GET", path: "/users/USR-1/members/MBR-1/status",
			status: 200, answerType: "application/vnd.mx.api.v1+json", wantRequests: 1,
			answer: `{"member":{"guid":"MBR-1","connection_status":"CONNECTED","is_being_aggregated":"no"}}`,
			want:   []string{`GET /users/{user_guid}/members/{member_guid}/status: 200 response: at /member/is_being_aggregated: value must be a boolean`}},
		{name: "MX: a status the spec does not give", spec: MX, method: "POST", path: "/users/USR-1/members/MBR-1/aggregate",
			status: 200, answerType: "application/vnd.mx.api.v1+json", wantRequests: 1,
			answer: `{"member":{"guid":"MBR-1"}}`,
			want:   []string{`POST /users/{user_guid}/members/{member_guid}/aggregate: 200 response: status is not supported`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ := tc.answerType
			if typ == "" {
				typ = ct
			}
			srv, c := tc.spec.Server(t, answer(typ, tc.status, tc.answer), Options{Exempt: tc.exempt})
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.body != "" {
				req.Header.Set("Content-Type", ct)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.status || string(got) != tc.answer {
				t.Errorf("the fake's answer came through as %d %s", res.StatusCode, got)
			}
			found := c.Violations()
			for _, w := range tc.want {
				if !slices.ContainsFunc(found, func(v string) bool { return strings.Contains(v, w) }) {
					t.Errorf("no violation %q among %q", w, found)
				}
			}
			if len(tc.want) == 0 && len(found) > 0 {
				t.Errorf("violations in a correct exchange: %q", found)
			}
			if n := c.Counts(); n.Requests != tc.wantRequests {
				t.Errorf("%d requests validated, want %d", n.Requests, tc.wantRequests)
			}
			// Found on purpose: they must not fail this test.
			c.Forget()
		})
	}
}

// TestCheckerCatchesWebhookDrift: webhook bodies are held to the schema of
// their type and code.
func TestCheckerCatchesWebhookDrift(t *testing.T) {
	srv, c := Plaid.Server(t, answer("application/json", 200, "{}"), Options{})
	_ = srv
	for _, tc := range []struct {
		name, body string
		want       string
	}{
		{"as Plaid sends it", `{"webhook_type":"TRANSACTIONS","webhook_code":"INITIAL_UPDATE","item_id":"i","new_transactions":3,"error":null,"environment":"sandbox"}`, ""},
		{"INITIAL_UPDATE's error is a string", `{"webhook_type":"TRANSACTIONS","webhook_code":"INITIAL_UPDATE","item_id":"i","new_transactions":3,` +
			`"error":{"error_code":"ITEM_LOGIN_REQUIRED"},"environment":"sandbox"}`, `webhook TRANSACTIONS INITIAL_UPDATE: at /error: value must be a string`},
		{"a misspelt field", `{"webhook_type":"INVESTMENTS_TRANSACTIONS","webhook_code":"DEFAULT_UPDATE","item_id":"i","new_investments_transactions":1,` +
			`"canceled_investments_transactions":0,"environment":"sandbox"}`, `$.canceled_investments_transactions is not in the spec`},
		{"a code Plaid does not send", `{"webhook_type":"ITEM","webhook_code":"EXPLODED","item_id":"i","environment":"sandbox"}`, `webhook ITEM EXPLODED is not in the plaid spec`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.CheckWebhook([]byte(tc.body))
			found := c.Violations()
			if tc.want == "" && len(found) > 0 || tc.want != "" && !slices.ContainsFunc(found, func(v string) bool { return strings.Contains(v, tc.want) }) {
				t.Errorf("violations %q, want %q", found, tc.want)
			}
			c.Forget()
		})
	}
}

// TestUndocumented: which members count as not in the spec.
func TestUndocumented(t *testing.T) {
	str := &openapi3.SchemaRef{Value: openapi3.NewStringSchema()}
	obj := func(props ...string) *openapi3.SchemaRef {
		s := openapi3.NewObjectSchema()
		for _, p := range props {
			s.WithProperty(p, openapi3.NewStringSchema())
		}
		return &openapi3.SchemaRef{Value: s}
	}
	withAllOf := &openapi3.SchemaRef{Value: &openapi3.Schema{AllOf: openapi3.SchemaRefs{obj("a"), obj("b")}}}
	withOneOf := &openapi3.SchemaRef{Value: &openapi3.Schema{OneOf: openapi3.SchemaRefs{
		{Value: openapi3.NewObjectSchema().WithProperty("kind", openapi3.NewStringSchema().WithEnum("x")).WithProperty("x", openapi3.NewStringSchema())},
		{Value: openapi3.NewObjectSchema().WithProperty("kind", openapi3.NewStringSchema().WithEnum("y")).WithProperty("y", openapi3.NewStringSchema())},
	}}}
	nested := obj()
	nested.Value.WithPropertyRef("list", &openapi3.SchemaRef{Value: openapi3.NewArraySchema().WithItems(obj("id").Value)})
	nested.Value.WithPropertyRef("map", &openapi3.SchemaRef{Value: openapi3.NewObjectSchema().WithAdditionalProperties(obj("id").Value)})
	nested.Value.WithPropertyRef("free", &openapi3.SchemaRef{Value: openapi3.NewObjectSchema()})
	// Plaid's allOf redeclaring a property: both declarations count.
	twice := &openapi3.SchemaRef{Value: &openapi3.Schema{AllOf: openapi3.SchemaRefs{
		{Value: openapi3.NewObjectSchema().WithPropertyRef("balances", obj("current"))},
		{Value: openapi3.NewObjectSchema().WithPropertyRef("balances", obj("margin_loan_amount"))},
	}}}
	for _, tc := range []struct {
		name   string
		schema *openapi3.SchemaRef
		value  string
		want   []string
	}{
		{"declared", obj("a", "b"), `{"a":"1","b":"2"}`, nil},
		{"one too many", obj("a"), `{"a":"1","z":"2"}`, []string{"$.z"}},
		{"allOf parts declare together", withAllOf, `{"a":"1","b":"2","c":"3"}`, []string{"$.c"}},
		{"the oneOf branch that matches", withOneOf, `{"kind":"x","x":"1","y":"2"}`, []string{"$.y"}},
		{"arrays, maps and free-form objects", nested, `{"list":[{"id":"1"},{"id":"2","extra":1}],"map":{"k":{"id":"1","no":2}},"free":{"anything":1}}`,
			[]string{"$.list[].extra", "$.map.k.no"}},
		{"a property declared twice", twice, `{"balances":{"current":1,"margin_loan_amount":null,"other":2}}`, []string{"$.balances.other"}},
		{"not an object", str, `"x"`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tc.value), &v); err != nil {
				t.Fatal(err)
			}
			var got []string
			Undocumented(tc.schema, v, "$", &got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("undocumented = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestExample: a spec's example for an answer, its own or composed from
// its properties' examples.
func TestExample(t *testing.T) {
	for _, tc := range []struct {
		name         string
		spec         *Spec
		method, path string
		want         string // a member of the example, as JSON
	}{
		{"the answer's own example", Plaid, "POST", "/item/remove", `"request_id":"m8MDnv9okwxFNBV"`},
		{"composed from the properties'", MX, "POST", "/users", `"guid":"USR-d74cb14f-fd0a-449f-991b-e0362a63d9c6"`},
		{"a 202 answer", MX, "POST", "/users/{user_guid}/members/{member_guid}/aggregate", `"connection_status":"CONNECTED"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.spec.Example(t, tc.method, tc.path)
			if !json.Valid(got) || !strings.Contains(string(got), tc.want) {
				t.Errorf("example %s, want it to hold %s", got, tc.want)
			}
		})
	}
}
