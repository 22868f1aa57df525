package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/apitest"
	"banklink/internal/httpapi"
	"banklink/internal/linking"
)

// seedBody is the sample request of the seed document.
const seedBody = `{
  "externalCustomerId": "testCustomer",
  "products": ["BALANCES", "OWNERS", "IDENTIFIERS", "TRANSACTIONS", "INVESTMENT_HOLDINGS", "INVESTMENT_TRANSACTIONS"],
  "regions": ["US", "CA"],
  "institutionSearchString": "Fidelity"
}`

func TestConnectStartSeedRequest(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			ts := newTestServer(t, dialect)
			r := ts.do(call{path: "/bank-linking/connect/start", body: seedBody, headers: map[string]string{"Meld-Version": "2022-11-10"}})
			if r.status != http.StatusCreated {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if v := r.header.Get("Meld-Version"); v != "2022-11-10" {
				t.Errorf("Meld-Version = %q", v)
			}
			if id := r.header.Get("X-Request-ID"); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
				t.Errorf("X-Request-ID = %q, want 32 hex chars", id)
			}
			var got linking.StartResponse
			r.json(t, &got)
			if got.ExternalCustomerID == nil || *got.ExternalCustomerID != "testCustomer" || len(got.ID) != banklink.IDLength || len(got.CustomerID) != banklink.IDLength {
				t.Errorf("response = %+v", got)
			}
			if got.WidgetURL != "https://widget.example.test/connect?connectToken="+got.ConnectToken {
				t.Errorf("widgetUrl = %q", got.WidgetURL)
			}
			c := apitest.TokenClaims(t, got.ConnectToken)
			if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 10800 {
				t.Errorf("exp - iat = %v, want 10800", exp-iat)
			}
			want := map[string]any{
				"iss": "banklink", "account": ts.account.ID, "customer": got.CustomerID, "connection": got.ID,
				"redirect": true, "routingProfile": "default",
				"products": []any{"BALANCES", "OWNERS", "IDENTIFIERS", "TRANSACTIONS", "INVESTMENT_HOLDINGS", "INVESTMENT_TRANSACTIONS"},
				"regions":  []any{"US", "CA"},
			}
			for k, v := range want {
				if fmt.Sprint(c[k]) != fmt.Sprint(v) {
					t.Errorf("claim %s = %v, want %v", k, c[k], v)
				}
			}
			if _, err := ts.tokens.Parse(got.ConnectToken); err != nil {
				t.Errorf("token does not verify: %v", err)
			}
			exp, err := time.Parse(time.RFC3339, got.ConnectTokenExpiresAt)
			if err != nil || exp.Unix() != int64(c["exp"].(float64)) {
				t.Errorf("connectTokenExpiresAt %q does not match exp %v", got.ConnectTokenExpiresAt, c["exp"])
			}
			if got.EligibleInstitutionCount < 1 {
				t.Errorf("eligibleInstitutionCount = %d", got.EligibleInstitutionCount)
			}
			// The connection exists, IN_PROGRESS, with what was asked.
			conn, err := ts.store.FindConnectionByID(t.Context(), banklink.Scope{AccountID: ts.account.ID, Environment: banklink.Sandbox}, got.ID)
			if err != nil {
				t.Fatal(err)
			}
			if conn.Status != banklink.StatusInProgress || conn.CustomerID != got.CustomerID || conn.InstitutionSearchString != "Fidelity" ||
				len(conn.Products) != 6 || len(conn.Regions) != 2 || !conn.AllowRedirect || !conn.ExpiresAt.Equal(conn.CreatedAt.Add(4*time.Hour)) {
				t.Errorf("stored connection = %+v", conn)
			}
		})
	}
}

func TestConnectStartReusesCustomer(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	var a, b linking.StartResponse
	ts.do(call{path: "/bank-linking/connect/start", body: seedBody}).json(t, &a)
	ts.do(call{path: "/bank-linking/connect/start", body: seedBody}).json(t, &b)
	if a.CustomerID == "" || a.CustomerID != b.CustomerID {
		t.Errorf("customerId %q then %q, want the same", a.CustomerID, b.CustomerID)
	}
	if a.ID == b.ID {
		t.Errorf("both starts returned connection %s", a.ID)
	}
	// Another account's key never sees this customer: the same external
	// id there is a different customer.
	other := &banklink.Account{ID: banklink.NewID(), Name: "Other"}
	if err := ts.store.CreateAccount(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	var c linking.StartResponse
	ts.do(call{path: "/bank-linking/connect/start", body: seedBody, key: ts.newKey(other.ID, banklink.Sandbox)}).json(t, &c)
	if c.CustomerID == a.CustomerID {
		t.Errorf("another account got customer %s", c.CustomerID)
	}
	if _, err := ts.store.FindCustomerByID(t.Context(), banklink.Scope{AccountID: other.ID, Environment: banklink.Sandbox}, a.CustomerID); banklink.ErrorCode(err) != banklink.ENOTFOUND {
		t.Errorf("other account found customer %s: %v", a.CustomerID, err)
	}
	if _, err := ts.store.FindConnectionByID(t.Context(), banklink.Scope{AccountID: other.ID, Environment: banklink.Sandbox}, a.ID); banklink.ErrorCode(err) != banklink.ENOTFOUND {
		t.Errorf("other account found connection %s: %v", a.ID, err)
	}
}

func TestConnectStartVariants(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	creditUnion := institutionNamed(t, "Sandbox Credit Union")
	for _, tc := range []struct {
		name    string
		body    string
		headers map[string]string
		key     func() string
		check   func(t *testing.T, r response, got linking.StartResponse, claims map[string]any)
	}{
		{
			name: "minimal body, no regions claim",
			body: `{"externalCustomerId":"c1"}`,
			check: func(t *testing.T, r response, got linking.StartResponse, c map[string]any) {
				if _, ok := c["regions"]; ok {
					t.Errorf("regions claim present: %v", c["regions"])
				}
				if p, ok := c["products"].([]any); !ok || len(p) != 0 {
					t.Errorf("products claim = %v, want []", c["products"])
				}
			},
		},
		{
			name: "optional products stay out of the token",
			body: `{"externalCustomerId":"c1","products":["BALANCES"],"optionalProducts":["TRANSACTIONS","OWNERS"]}`,
			check: func(t *testing.T, r response, got linking.StartResponse, c map[string]any) {
				if fmt.Sprint(c["products"]) != "[BALANCES]" {
					t.Errorf("products claim = %v", c["products"])
				}
			},
		},
		{
			name: "allowRedirect false",
			body: `{"externalCustomerId":"c1","accountPreferenceOverride":{"allowRedirect":false}}`,
			check: func(t *testing.T, r response, got linking.StartResponse, c map[string]any) {
				if c["redirect"] != false {
					t.Errorf("redirect claim = %v", c["redirect"])
				}
			},
		},
		{
			name: "eligible institutionId, subdivision region, https redirectUrl",
			body: fmt.Sprintf(`{"externalCustomerId":"c1","products":["BALANCES","TRANSACTIONS"],"regions":["us-ny"],"institutionId":%q,"redirectUrl":"https://app.example.com/linked?x=1"}`, creditUnion.ID),
			check: func(t *testing.T, r response, got linking.StartResponse, c map[string]any) {
				if fmt.Sprint(c["regions"]) != "[US-NY]" {
					t.Errorf("regions claim = %v, want canonical upper case", c["regions"])
				}
				conn, err := ts.store.FindConnectionByID(t.Context(), banklink.Scope{AccountID: ts.account.ID, Environment: banklink.Sandbox}, got.ID)
				if err != nil {
					t.Fatal(err)
				}
				if conn.InstitutionID != creditUnion.ID || conn.InstitutionName != creditUnion.Name || conn.RedirectURL != "https://app.example.com/linked?x=1" {
					t.Errorf("connection = %+v", conn)
				}
			},
		},
		{
			name: "unknown field is ignored with a warning",
			body: `{"externalCustomerId":"c1","product":["BALANCES"]}`,
			check: func(t *testing.T, r response, got linking.StartResponse, c map[string]any) {
				if len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], `"product"`) {
					t.Errorf("warnings = %v", got.Warnings)
				}
			},
		},
		{
			name: "narrow filter warns which filter removed the most",
			body: `{"externalCustomerId":"c1","products":["BALANCES","INVESTMENT_HOLDINGS","INVESTMENT_TRANSACTIONS"],"regions":["CA-QC"]}`,
			check: func(t *testing.T, r response, got linking.StartResponse, c map[string]any) {
				if got.EligibleInstitutionCount >= 25 {
					t.Fatalf("eligibleInstitutionCount = %d; the test needs a narrow filter", got.EligibleInstitutionCount)
				}
				if len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], fmt.Sprintf("Only %d institutions", got.EligibleInstitutionCount)) ||
					!strings.Contains(got.Warnings[0], "INVESTMENT_") || !strings.Contains(got.Warnings[0], "Omitting regions (CA-QC)") {
					t.Errorf("warnings = %v", got.Warnings)
				}
			},
		},
		{
			name:    "scheme word in any case",
			body:    `{"externalCustomerId":"c1"}`,
			headers: map[string]string{"Authorization": "basic " + ts.key},
		},
		{
			name:    "HTTP Basic credential as curl -u sends it",
			body:    `{"externalCustomerId":"c1"}`,
			headers: map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(ts.key+":"))},
		},
		{
			name:    "older Meld-Version applies the oldest implemented",
			body:    `{"externalCustomerId":"c1"}`,
			headers: map[string]string{"Meld-Version": "2020-01-01"},
			check: func(t *testing.T, r response, got linking.StartResponse, c map[string]any) {
				if v := r.header.Get("Meld-Version"); v != "2022-11-10" {
					t.Errorf("Meld-Version = %q", v)
				}
			},
		},
		{
			name:    "newer Meld-Version applies the newest not after it",
			body:    `{"externalCustomerId":"c1"}`,
			headers: map[string]string{"Meld-Version": "2031-05-05"},
			check: func(t *testing.T, r response, got linking.StartResponse, c map[string]any) {
				if v := r.header.Get("Meld-Version"); v != "2022-11-10" {
					t.Errorf("Meld-Version = %q", v)
				}
			},
		},
		{
			name:    "caller's X-Request-ID is kept",
			body:    `{"externalCustomerId":"c1"}`,
			headers: map[string]string{"X-Request-ID": "trace-abc-123456"},
			check: func(t *testing.T, r response, got linking.StartResponse, c map[string]any) {
				if r.header.Get("X-Request-ID") != "trace-abc-123456" {
					t.Errorf("X-Request-ID = %q", r.header.Get("X-Request-ID"))
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(call{path: "/bank-linking/connect/start", body: tc.body, headers: tc.headers})
			if r.status != http.StatusCreated {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var got linking.StartResponse
			r.json(t, &got)
			if tc.check != nil {
				tc.check(t, r, got, apitest.TokenClaims(t, got.ConnectToken))
			}
		})
	}
}

func TestConnectStartErrors(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	ctx := t.Context()
	revoked := ts.newKey(ts.account.ID, banklink.Sandbox)
	_, revokedID, _, _ := banklink.ParseAPIKey(revoked)
	if err := ts.store.RevokeAPIKey(ctx, ts.account.ID, revokedID, time.Now()); err != nil {
		t.Fatal(err)
	}
	env, id, _, _ := banklink.ParseAPIKey(ts.key)
	wrongSecret := fmt.Sprintf("bl_%s_%s_%s", env, id, strings.Repeat("z", 44))
	wrongEnv := strings.Replace(ts.key, "bl_sandbox_", "bl_production_", 1)
	production := ts.newKey(ts.account.ID, banklink.Production)
	creditUnion := institutionNamed(t, "Sandbox Credit Union")
	oauth := institutionNamed(t, "Sandbox OAuth Bank")
	quebec := institutionNamed(t, "Banque Sandbox du Québec")

	for _, tc := range []struct {
		name    string
		method  string
		path    string
		body    string
		key     string
		headers map[string]string
		status  int
		code    string
		// message must contain each of these.
		message []string
	}{
		// 401, the seed's first row.
		{name: "no Authorization header", key: "-", status: 401, code: "UNAUTHORIZED", message: []string{"Missing Authorization"}},
		{name: "Bearer scheme", headers: map[string]string{"Authorization": "Bearer " + ts.key}, status: 401, code: "UNAUTHORIZED", message: []string{"BASIC"}},
		{name: "key without scheme", headers: map[string]string{"Authorization": ts.key}, status: 401, code: "UNAUTHORIZED"},
		{name: "garbage key", key: "not-a-key", status: 401, code: "UNAUTHORIZED", message: []string{"Invalid API key"}},
		{name: "unknown key id", key: fmt.Sprintf("bl_sandbox_%s_%s", banklink.NewID(), strings.Repeat("z", 44)), status: 401, code: "UNAUTHORIZED"},
		{name: "wrong secret", key: wrongSecret, status: 401, code: "UNAUTHORIZED"},
		{name: "environment prefix altered", key: wrongEnv, status: 401, code: "UNAUTHORIZED"},
		{name: "revoked key", key: revoked, status: 401, code: "UNAUTHORIZED", message: []string{"revoked"}},

		// Body shape.
		{name: "malformed JSON", body: `{"externalCustomerId": "c1",`, status: 400, code: "BAD_REQUEST", message: []string{"not valid JSON"}},
		{name: "trailing data", body: `{"externalCustomerId":"c1"} {}`, status: 400, code: "BAD_REQUEST", message: []string{"not valid JSON"}},
		{name: "empty body", body: "", status: 400, code: "BAD_REQUEST", message: []string{"empty"}},
		{name: "null body", body: `null`, status: 400, code: "BAD_REQUEST", message: []string{"JSON object"}},
		{name: "array body", body: `[]`, status: 400, code: "BAD_REQUEST", message: []string{"JSON object"}},
		{name: "body over the size limit", body: `{"externalCustomerId":"` + strings.Repeat("a", httpapi.DefaultMaxBodyBytes) + `"}`, status: 400, code: "BAD_REQUEST", message: []string{"limit"}},
		{name: "text/plain body", body: `{"externalCustomerId":"c1"}`, headers: map[string]string{"Content-Type": "text/plain"}, status: 415, code: "UNSUPPORTED_MEDIA_TYPE", message: []string{"application/json"}},

		// externalCustomerId.
		// (missing or null: TestConnectStartCustomer.)
		{name: "customerId unknown", body: `{"customerId":"NoSuchCustomer12345678"}`, status: 404, code: "NOT_FOUND", message: []string{"NoSuchCustomer12345678"}},
		{name: "customerId empty", body: `{"customerId":" "}`, status: 400, code: "BAD_REQUEST", message: []string{"[customerId] must not be empty"}},
		{name: "customerId number", body: `{"customerId":7}`, status: 400, code: "BAD_REQUEST", message: []string{"[customerId] must be a string"}},
		{name: "externalCustomerId empty", body: `{"externalCustomerId":""}`, status: 400, code: "BAD_REQUEST", message: []string{"[externalCustomerId] must not be empty"}},
		{name: "externalCustomerId blank", body: `{"externalCustomerId":"   "}`, status: 400, code: "BAD_REQUEST", message: []string{"[externalCustomerId] must not be empty"}},
		{name: "externalCustomerId too long", body: `{"externalCustomerId":"` + strings.Repeat("x", 256) + `"}`, status: 400, code: "BAD_REQUEST", message: []string{"[externalCustomerId] must be at most 255"}},
		{name: "externalCustomerId control character", body: `{"externalCustomerId":"a\u0007b"}`, status: 400, code: "BAD_REQUEST", message: []string{"[externalCustomerId] must not contain control"}},
		{name: "externalCustomerId number", body: `{"externalCustomerId":42}`, status: 400, code: "BAD_REQUEST", message: []string{"[externalCustomerId] must be a string"}},

		// Products, the seed's second and third rows.
		{name: "unknown product", body: `{"externalCustomerId":"c1","products":["BALANCE"]}`, status: 400, code: "BAD_REQUEST", message: []string{"[products]", `"BALANCE"`, "TRANSACTIONS"}},
		{name: "HISTORICAL_TRANSACTIONS refused", body: `{"externalCustomerId":"c1","products":["HISTORICAL_TRANSACTIONS"]}`, status: 400, code: "BAD_REQUEST", message: []string{"[products]", "pass TRANSACTIONS"}},
		{name: "HISTORICAL_TRANSACTIONS refused as optional", body: `{"externalCustomerId":"c1","products":["BALANCES"],"optionalProducts":["HISTORICAL_TRANSACTIONS"]}`, status: 400, code: "BAD_REQUEST", message: []string{"[optionalProducts]", "pass TRANSACTIONS"}},
		{name: "lower-case product", body: `{"externalCustomerId":"c1","products":["balances"]}`, status: 400, code: "BAD_REQUEST", message: []string{"[products]"}},
		{name: "duplicate product", body: `{"externalCustomerId":"c1","products":["BALANCES","BALANCES"]}`, status: 400, code: "BAD_REQUEST", message: []string{"[products] lists BALANCES more than once"}},
		{name: "duplicate optional product", body: `{"externalCustomerId":"c1","products":["OWNERS"],"optionalProducts":["BALANCES","BALANCES"]}`, status: 400, code: "BAD_REQUEST", message: []string{"[optionalProducts] lists BALANCES more than once"}},
		{name: "required and optional overlap", body: `{"externalCustomerId":"c1","products":["BALANCES","OWNERS"],"optionalProducts":["OWNERS"]}`, status: 400, code: "BAD_REQUEST", message: []string{"[optionalProducts]", "OWNERS"}},
		{name: "optional products without a required one", body: `{"externalCustomerId":"c1","optionalProducts":["OWNERS"]}`, status: 400, code: "BAD_REQUEST", message: []string{"[products] must list at least one"}},
		{name: "optional products with empty required list", body: `{"externalCustomerId":"c1","products":[],"optionalProducts":["OWNERS"]}`, status: 400, code: "BAD_REQUEST", message: []string{"[products] must list at least one"}},
		{name: "products not an array", body: `{"externalCustomerId":"c1","products":"BALANCES"}`, status: 400, code: "BAD_REQUEST", message: []string{"[products] must be an array of strings"}},
		{name: "product not a string", body: `{"externalCustomerId":"c1","products":[1]}`, status: 400, code: "BAD_REQUEST", message: []string{"[products"}},

		// Regions, the seed's "unsupported region".
		{name: "three-letter country", body: `{"externalCustomerId":"c1","regions":["USA"]}`, status: 400, code: "BAD_REQUEST", message: []string{"[regions]", `"USA"`, "ISO 3166"}},
		{name: "unassigned country", body: `{"externalCustomerId":"c1","regions":["XX"]}`, status: 400, code: "BAD_REQUEST", message: []string{"[regions]", `"XX"`}},
		{name: "unknown US subdivision", body: `{"externalCustomerId":"c1","regions":["US-ZZ"]}`, status: 400, code: "BAD_REQUEST", message: []string{"[regions]", `"US-ZZ"`}},
		{name: "malformed subdivision", body: `{"externalCustomerId":"c1","regions":["FR-"]}`, status: 400, code: "BAD_REQUEST", message: []string{"[regions]"}},
		{name: "duplicate region across case", body: `{"externalCustomerId":"c1","regions":["US","us"]}`, status: 400, code: "BAD_REQUEST", message: []string{"[regions] lists US more than once"}},
		{name: "regions not an array", body: `{"externalCustomerId":"c1","regions":"US"}`, status: 400, code: "BAD_REQUEST", message: []string{"[regions] must be an array"}},

		// Institution, the seed's 404 row, and eligibility.
		{name: "unknown institutionId", body: `{"externalCustomerId":"c1","institutionId":"NoSuchInstitution1234"}`, status: 404, code: "NOT_FOUND", message: []string{"NoSuchInstitution1234", "GET /institutions"}},
		{name: "overlong institutionId", body: `{"externalCustomerId":"c1","institutionId":"` + strings.Repeat("x", 100) + `"}`, status: 404, code: "NOT_FOUND"},
		{name: "empty institutionId", body: `{"externalCustomerId":"c1","institutionId":""}`, status: 400, code: "BAD_REQUEST", message: []string{"[institutionId] must not be empty"}},
		{name: "institution lacks a required product", body: fmt.Sprintf(`{"externalCustomerId":"c1","products":["INVESTMENT_HOLDINGS"],"institutionId":%q}`, creditUnion.ID), status: 400, code: "BAD_REQUEST", message: []string{"[institutionId]", "not eligible", "does not support INVESTMENT_HOLDINGS"}},
		{name: "institution outside the regions", body: fmt.Sprintf(`{"externalCustomerId":"c1","regions":["US"],"institutionId":%q}`, quebec.ID), status: 400, code: "BAD_REQUEST", message: []string{"does not serve US"}},
		{name: "OAuth institution with allowRedirect false", body: fmt.Sprintf(`{"externalCustomerId":"c1","institutionId":%q,"accountPreferenceOverride":{"allowRedirect":false}}`, oauth.ID), status: 400, code: "BAD_REQUEST", message: []string{"redirect (OAuth)"}},

		// Other fields.
		{name: "search string too long", body: `{"externalCustomerId":"c1","institutionSearchString":"` + strings.Repeat("f", 257) + `"}`, status: 400, code: "BAD_REQUEST", message: []string{"[institutionSearchString] must be at most 256"}},
		{name: "allowRedirect not a boolean", body: `{"externalCustomerId":"c1","accountPreferenceOverride":{"allowRedirect":"no"}}`, status: 400, code: "BAD_REQUEST", message: []string{"[accountPreferenceOverride.allowRedirect] must be a boolean"}},
		{name: "http redirectUrl", body: `{"externalCustomerId":"c1","redirectUrl":"http://app.example.com/done"}`, status: 400, code: "BAD_REQUEST", message: []string{"[redirectUrl] must be an absolute https URL"}},
		{name: "custom-scheme redirectUrl", body: `{"externalCustomerId":"c1","redirectUrl":"myapp://done"}`, status: 400, code: "BAD_REQUEST", message: []string{"[redirectUrl]"}},
		{name: "relative redirectUrl", body: `{"externalCustomerId":"c1","redirectUrl":"/done"}`, status: 400, code: "BAD_REQUEST", message: []string{"[redirectUrl]"}},
		{name: "redirectUrl with credentials", body: `{"externalCustomerId":"c1","redirectUrl":"https://u:p@app.example.com/"}`, status: 400, code: "BAD_REQUEST", message: []string{"[redirectUrl] must not contain credentials"}},

		// Headers and routing.
		{name: "Meld-Version not a date", body: `{"externalCustomerId":"c1"}`, headers: map[string]string{"Meld-Version": "latest"}, status: 400, code: "BAD_REQUEST", message: []string{"Meld-Version", "YYYY-MM-DD"}},
		{name: "production key without a production provider", body: `{"externalCustomerId":"c1"}`, key: production, status: 400, code: "NOT_SUPPORTED", message: []string{"production"}},
		{name: "GET on connect/start", method: http.MethodGet, status: 405, code: "METHOD_NOT_ALLOWED", message: []string{"POST"}},
		{name: "unknown path", path: "/bank-linking/nope", method: http.MethodGet, status: 404, code: "NOT_FOUND"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.path == "" {
				tc.path = "/bank-linking/connect/start"
			}
			if tc.method == "" {
				tc.method = http.MethodPost
			}
			before := countConnections(t, ts)
			r := ts.do(call{method: tc.method, path: tc.path, body: tc.body, key: tc.key, headers: tc.headers})
			if r.status != tc.status {
				t.Fatalf("status = %d, want %d: %s", r.status, tc.status, r.body)
			}
			e := r.errorBody(t)
			if e.Code != tc.code {
				t.Errorf("code = %q, want %q", e.Code, tc.code)
			}
			for _, m := range tc.message {
				if !strings.Contains(e.Message, m) {
					t.Errorf("message %q does not contain %q", e.Message, m)
				}
			}
			if _, err := time.Parse(httpapi.TimestampFormat, e.Timestamp); err != nil {
				t.Errorf("timestamp %q: %v", e.Timestamp, err)
			}
			if tc.status == 405 && r.header.Get("Allow") == "" {
				t.Errorf("405 without Allow header")
			}
			// A refused request loses nothing and creates nothing.
			if after := countConnections(t, ts); after != before {
				t.Errorf("connections went from %d to %d", before, after)
			}
		})
	}
}

func countConnections(t *testing.T, ts *testServer) int {
	t.Helper()
	n, err := ts.store.CountConnections(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestConnectStartCustomer: externalCustomerId is optional, as the seed
// says ("the externalCustomerId you optionally pass in"). Without it
// connect/start creates a new customer and echoes null; customerId links
// the connection to an existing customer of the account instead.
func TestConnectStartCustomer(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	start := func(body string) (int, linking.StartResponse, httpapi.ErrorBody) {
		t.Helper()
		r := ts.do(call{path: "/bank-linking/connect/start", body: body})
		var got linking.StartResponse
		var e httpapi.ErrorBody
		if r.status == http.StatusCreated {
			r.json(t, &got)
			var raw map[string]any
			r.json(t, &raw)
			if _, ok := raw["externalCustomerId"]; !ok {
				t.Errorf("%s: externalCustomerId missing from %s", body, r.body)
			}
		} else {
			e = r.errorBody(t)
		}
		return r.status, got, e
	}
	ext := func(r linking.StartResponse) string {
		if r.ExternalCustomerID == nil {
			return "<null>"
		}
		return *r.ExternalCustomerID
	}
	_, anon1, _ := start(`{"products":["BALANCES"]}`)
	_, anon2, _ := start(`{"externalCustomerId":null,"products":["BALANCES"]}`)
	_, named, _ := start(`{"externalCustomerId":"named","products":["BALANCES"]}`)
	for _, tc := range []struct {
		name         string
		got          linking.StartResponse
		wantCustomer string // "" for a new customer
		wantExt      string
	}{
		{name: "no externalCustomerId", got: anon1, wantExt: "<null>"},
		{name: "null externalCustomerId is a second new customer", got: anon2, wantExt: "<null>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if ext(tc.got) != tc.wantExt || len(tc.got.CustomerID) != banklink.IDLength {
				t.Errorf("response %+v, externalCustomerId %s", tc.got, ext(tc.got))
			}
		})
	}
	if anon1.CustomerID == anon2.CustomerID {
		t.Errorf("two starts without externalCustomerId share customer %s", anon1.CustomerID)
	}
	for _, tc := range []struct {
		name, body   string
		status       int
		wantCustomer string
		wantExt      string
		code         string
	}{
		{name: "customerId of a customer without external id", body: fmt.Sprintf(`{"customerId":%q}`, anon1.CustomerID), status: 201, wantCustomer: anon1.CustomerID, wantExt: "<null>"},
		{name: "customerId of a named customer", body: fmt.Sprintf(`{"customerId":%q}`, named.CustomerID), status: 201, wantCustomer: named.CustomerID, wantExt: "named"},
		{name: "customerId with its own externalCustomerId", body: fmt.Sprintf(`{"customerId":%q,"externalCustomerId":"named"}`, named.CustomerID), status: 201, wantCustomer: named.CustomerID, wantExt: "named"},
		{name: "customerId with another externalCustomerId", body: fmt.Sprintf(`{"customerId":%q,"externalCustomerId":"someone-else"}`, named.CustomerID), status: 400, code: "BAD_REQUEST"},
		{name: "customerId unknown", body: `{"customerId":"NoSuchCustomer12345678"}`, status: 404, code: "NOT_FOUND"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, got, e := start(tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d (%+v)", status, tc.status, e)
			}
			if status != 201 {
				if e.Code != tc.code {
					t.Errorf("code %s, want %s", e.Code, tc.code)
				}
				return
			}
			if got.CustomerID != tc.wantCustomer || ext(got) != tc.wantExt {
				t.Errorf("customer %s externalCustomerId %s, want %s %s", got.CustomerID, ext(got), tc.wantCustomer, tc.wantExt)
			}
			// The connection belongs to that customer.
			var c map[string]any
			r := ts.do(call{method: "GET", path: "/bank-linking/connections/" + got.ID})
			r.json(t, &c)
			if c["customerId"] != tc.wantCustomer || fmt.Sprint(c["externalCustomerId"]) != strings.Replace(tc.wantExt, "<null>", "<nil>", 1) {
				t.Errorf("connection = %v", c)
			}
		})
	}
	// Another account's customer is unknown here.
	ts2 := newTestServer(t, "sqlite")
	r := ts2.do(call{path: "/bank-linking/connect/start", body: fmt.Sprintf(`{"customerId":%q}`, anon1.CustomerID)})
	if r.status != http.StatusNotFound {
		t.Errorf("another account's customerId: %d %s", r.status, r.body)
	}
}

// TestConnectStartRecordedRequest replays the connect/start request
// recorded from Meld's sandbox (meld-recorded-shapes.md) byte for byte:
// Content-Type with a charset, no Meld-Version, no regions. It gets 201
// with the recorded headers, body keys (in order, banklink's additions
// after them) and token claims.
func TestConnectStartRecordedRequest(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	r := ts.do(call{path: "/bank-linking/connect/start", body: `{"externalCustomerId":"user@domain.com","products":["BALANCES","OWNERS"]}`,
		headers: map[string]string{"Content-Type": "application/json;charset=UTF-8", "Meld-Version": ""}})
	if r.status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	for _, h := range []struct{ name, want string }{
		{"Content-Type", "application/json"},
		{"Meld-Version", "2022-11-10"},
		{"Cache-Control", "no-cache, no-store, max-age=0, must-revalidate"},
		{"Pragma", "no-cache"},
		{"Expires", "0"},
		{"X-Content-Type-Options", "nosniff"},
		{"X-Frame-Options", "DENY"},
	} {
		if got := r.header.Get(h.name); got != h.want {
			t.Errorf("%s = %q, want %q", h.name, got, h.want)
		}
	}
	if id := r.header.Get("X-Request-ID"); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Errorf("X-Request-ID = %q, want 32 hex chars", id)
	}
	dec := json.NewDecoder(strings.NewReader(string(r.body)))
	var keys []string
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	recorded := []string{"id", "connectToken", "customerId", "externalCustomerId", "widgetUrl"}
	if len(keys) < len(recorded) || !slices.Equal(keys[:len(recorded)], recorded) {
		t.Errorf("body keys %v, want %v first", keys, recorded)
	}
	var got linking.StartResponse
	r.json(t, &got)
	if got.ExternalCustomerID == nil || *got.ExternalCustomerID != "user@domain.com" || got.WidgetURL != "https://widget.example.test/connect?connectToken="+got.ConnectToken {
		t.Errorf("response = %+v", got)
	}
	claims := apitest.TokenClaims(t, got.ConnectToken)
	var names []string
	for k := range claims {
		names = append(names, k)
	}
	slices.Sort(names)
	// The recorded claims, and env (banklink's addition: the key's
	// environment, docs/api.md); no regions claim when none were sent.
	if want := []string{"account", "connection", "customer", "env", "exp", "iat", "iss", "products", "redirect", "routingProfile"}; !slices.Equal(names, want) {
		t.Errorf("claims %v, want %v", names, want)
	}
	if fmt.Sprint(claims["products"]) != "[BALANCES OWNERS]" || claims["redirect"] != true || claims["connection"] != got.ID || claims["customer"] != got.CustomerID {
		t.Errorf("claims = %v", claims)
	}
}

// TestEndpointVersions: each endpoint echoes the version it applied,
// from the one table (EndpointVersions): the financial accounts answer
// 2022-09-21, as Meld's recording shows, whatever the key's version.
func TestEndpointVersions(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	for _, tc := range []struct {
		name, method, path, body, requested, want string
	}{
		{name: "accounts with the key's version", method: "GET", path: "/bank-linking/accounts", want: "2022-09-21"},
		{name: "accounts asked for a newer version", method: "GET", path: "/bank-linking/accounts", requested: "2031-01-01", want: "2022-09-21"},
		{name: "accounts asked for an older version", method: "GET", path: "/bank-linking/accounts", requested: "2020-01-01", want: "2022-09-21"},
		{name: "one account", method: "GET", path: "/bank-linking/accounts/NoSuchAccount123456789", want: "2022-09-21"},
		{name: "transactions with the key's version", method: "GET", path: "/bank-linking/transactions", want: "2022-11-10"},
		{name: "transactions asked for 2022-09-21", method: "GET", path: "/bank-linking/transactions", requested: "2022-09-21", want: "2022-09-21"},
		{name: "connect/start asked for 2022-09-21", method: "POST", path: "/bank-linking/connect/start", body: `{"products":["BALANCES"]}`, requested: "2022-09-21", want: "2022-11-10"},
		{name: "connections", method: "GET", path: "/bank-linking/connections", want: "2022-11-10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(call{method: tc.method, path: tc.path, body: tc.body, headers: map[string]string{"Meld-Version": tc.requested}})
			if got := r.header.Get("Meld-Version"); got != tc.want {
				t.Errorf("%d: Meld-Version %q, want %q", r.status, got, tc.want)
			}
		})
	}
	for pattern, versions := range httpapi.EndpointVersions {
		if len(versions) == 0 || !slices.IsSorted(versions) {
			t.Errorf("%s: versions %v, want some, oldest first", pattern, versions)
		}
	}
}
