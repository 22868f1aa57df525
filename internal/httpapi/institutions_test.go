package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"banklink"
	"banklink/internal/httpapi"
	"banklink/internal/sandbox"
)

func searchInstitutions(t *testing.T, ts *testServer, q url.Values) httpapi.InstitutionList {
	t.Helper()
	r := ts.do(call{method: http.MethodGet, path: "/institutions?" + q.Encode()})
	if r.status != http.StatusOK {
		t.Fatalf("GET /institutions?%s: %d %s", q.Encode(), r.status, r.body)
	}
	var list httpapi.InstitutionList
	r.json(t, &list)
	return list
}

func TestSearchInstitutions(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	for _, tc := range []struct {
		name  string
		query url.Values
		check func(t *testing.T, l httpapi.InstitutionList)
	}{
		{"default page is the top 10 by rank", url.Values{}, func(t *testing.T, l httpapi.InstitutionList) {
			if l.Count != 10 || len(l.Institutions) != 10 || l.Remaining < 1000 {
				t.Errorf("count %d remaining %d", l.Count, l.Remaining)
			}
			if l.Institutions[0].ID != sandbox.TestBankID || l.Institutions[0].Rank != 1 {
				t.Errorf("first = %+v", l.Institutions[0])
			}
			for i := 1; i < len(l.Institutions); i++ {
				if l.Institutions[i].Rank < l.Institutions[i-1].Rank {
					t.Errorf("not ordered by rank at %d", i)
				}
			}
		}},
		{"exact name first, accent-insensitive", url.Values{"name": {"banque sandbox du quebec"}}, func(t *testing.T, l httpapi.InstitutionList) {
			if len(l.Institutions) == 0 || l.Institutions[0].ID != sandbox.TestQuebecBankID {
				t.Errorf("results = %v", names(l))
			}
		}},
		{"alias matches", url.Values{"name": {"Sandbox Investments"}}, func(t *testing.T, l httpapi.InstitutionList) {
			if len(l.Institutions) == 0 || l.Institutions[0].ID != sandbox.TestBrokerageID {
				t.Errorf("results = %v", names(l))
			}
		}},
		{"products filter with HISTORICAL_TRANSACTIONS capability", url.Values{"products": {"TRANSACTIONS,HISTORICAL_TRANSACTIONS"}, "limit": {"50"}}, func(t *testing.T, l httpapi.InstitutionList) {
			for _, in := range l.Institutions {
				if !strings.Contains(strings.Join(toStrings(in.Products), ","), "HISTORICAL_TRANSACTIONS") {
					t.Errorf("%s lacks HISTORICAL_TRANSACTIONS: %v", in.Name, in.Products)
				}
			}
		}},
		{"subdivision region keeps national institutions", url.Values{"regions": {"CA-QC"}, "name": {"sandbox"}}, func(t *testing.T, l httpapi.InstitutionList) {
			got := strings.Join(names(l), "|")
			if !strings.Contains(got, "Banque Sandbox du Québec") || !strings.Contains(got, "Sandbox Bank") || strings.Contains(got, "Sandbox Credit Union") {
				t.Errorf("results = %s", got)
			}
		}},
		{"allowRedirect=false hides OAuth institutions", url.Values{"allowRedirect": {"false"}, "name": {"Sandbox OAuth"}}, func(t *testing.T, l httpapi.InstitutionList) {
			for _, in := range l.Institutions {
				if in.ID == sandbox.TestOAuthBankID {
					t.Errorf("OAuth institution listed")
				}
			}
		}},
		{"type filter", url.Values{"type": {"BROKERAGE"}, "limit": {"100"}}, func(t *testing.T, l httpapi.InstitutionList) {
			for _, in := range l.Institutions {
				if in.Type != banklink.InstitutionBrokerage {
					t.Errorf("%s is %s", in.Name, in.Type)
				}
			}
		}},
		{"serviceProviders filter", url.Values{"serviceProviders": {"SANDBOX"}, "limit": {"1"}}, func(t *testing.T, l httpapi.InstitutionList) {
			if _, ok := l.Institutions[0].Providers["SANDBOX"]; !ok {
				t.Errorf("providers = %v", l.Institutions[0].Providers)
			}
		}},
		{"routing number, as printed on a check", url.Values{"name": {"0210 0002 1"}}, func(t *testing.T, l httpapi.InstitutionList) {
			if len(l.Institutions) != 1 || l.Institutions[0].Name != "Chase" {
				t.Errorf("results = %v", names(l))
			}
		}},
		{"routing number failing the checksum", url.Values{"name": {"021000022"}}, func(t *testing.T, l httpapi.InstitutionList) {
			if l.Count != 0 {
				t.Errorf("results = %v", names(l))
			}
		}},
		{"no match", url.Values{"name": {"zzzzqqq"}}, func(t *testing.T, l httpapi.InstitutionList) {
			if l.Count != 0 || l.Remaining != 0 || l.Institutions == nil {
				t.Errorf("got %+v", l)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, searchInstitutions(t, ts, tc.query)) })
	}
}

func TestSearchInstitutionsPagination(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	q := url.Values{"name": {"bank"}, "limit": {"37"}}
	all := searchInstitutions(t, ts, url.Values{"name": {"bank"}, "limit": {"1000"}})
	seen := map[string]bool{}
	var order []string
	page := searchInstitutions(t, ts, q)
	for {
		for _, in := range page.Institutions {
			if seen[in.ID] {
				t.Fatalf("%s returned twice", in.ID)
			}
			seen[in.ID] = true
			order = append(order, in.ID)
		}
		if page.Remaining == 0 {
			break
		}
		q.Set("after", page.Institutions[len(page.Institutions)-1].Key)
		page = searchInstitutions(t, ts, q)
	}
	if len(order) != all.Count+all.Remaining {
		t.Fatalf("walked %d, want %d", len(order), all.Count+all.Remaining)
	}
	for i, in := range all.Institutions {
		if order[i] != in.ID {
			t.Fatalf("order differs at %d", i)
		}
	}
	// Walking back with before from the last page's first key.
	back := searchInstitutions(t, ts, url.Values{"name": {"bank"}, "limit": {"5"}, "before": {all.Institutions[10].Key}})
	if len(back.Institutions) != 5 || back.Institutions[0].ID != all.Institutions[5].ID || back.Remaining != 5 {
		t.Errorf("before page = %v remaining %d", names(back), back.Remaining)
	}
}

func TestInstitutionErrors(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	for _, tc := range []struct {
		name, path string
		status     int
		message    string
	}{
		{"limit zero", "/institutions?limit=0", 400, "[limit]"},
		{"limit too large", "/institutions?limit=1001", 400, "[limit]"},
		{"limit not a number", "/institutions?limit=ten", 400, "[limit]"},
		{"before and after", "/institutions?before=a&after=b", 400, "not both"},
		{"bad cursor", "/institutions?after=nope", 400, "[after]"},
		{"unknown product", "/institutions?products=BALANCE", 400, "[products]"},
		{"bad region", "/institutions?regions=USA", 400, "[regions]"},
		{"unknown type", "/institutions?type=CASINO", 400, "[type]"},
		{"unknown provider", "/institutions?serviceProviders=PLAID", 400, "[serviceProviders]"},
		{"allowRedirect not a boolean", "/institutions?allowRedirect=maybe", 400, "[allowRedirect]"},
		{"unknown id", "/institutions/NoSuchInstitution", 404, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(call{method: http.MethodGet, path: tc.path})
			if r.status != tc.status {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if e := r.errorBody(t); !strings.Contains(e.Message, tc.message) {
				t.Errorf("message %q lacks %q", e.Message, tc.message)
			}
		})
	}
	r := ts.do(call{method: http.MethodGet, path: "/institutions", key: "-"})
	if r.status != 401 {
		t.Errorf("without a key: %d", r.status)
	}
}

func TestGetInstitution(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	r := ts.do(call{method: http.MethodGet, path: "/institutions/" + sandbox.TestOAuthBankID})
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var in httpapi.InstitutionJSON
	r.json(t, &in)
	p, ok := in.Providers["SANDBOX"]
	if in.Name != "Sandbox OAuth Bank" || !in.IsTest || !ok || !p.OAuth || p.ServiceProviderInstitutionID == "" {
		t.Errorf("institution = %+v", in)
	}
}

func names(l httpapi.InstitutionList) []string {
	var out []string
	for _, in := range l.Institutions {
		out = append(out, in.Name)
	}
	return out
}

func toStrings(ps []banklink.Product) []string {
	var out []string
	for _, p := range ps {
		out = append(out, string(p))
	}
	return out
}

// TestInstitutionInlineLogo: an inline logo (Plaid's data: URL) is not a
// URL an API client can use; images shows it as null, and URLs as they
// are.
func TestInstitutionInlineLogo(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	in := &banklink.Institution{ID: "inlineLogoInstitution1", Key: "inlineLogo1", Name: "Inline Logo Bank", Type: banklink.InstitutionBank, Rank: 5000,
		Regions: []banklink.Region{"US"}, Images: banklink.InstitutionImages{Icon: "data:image/png;base64,iVBORw0KGgo=", Tile: "https://cdn.example/tile.png", Color: "#004966"},
		Providers: map[string]banklink.ProviderInstitution{sandbox.ProviderType: {ProviderInstitutionID: "inline-1", Products: []banklink.Product{banklink.Balances}, Health: banklink.HealthHealthy}}}
	if err := ts.store.UpsertInstitutions(t.Context(), []*banklink.Institution{in}); err != nil {
		t.Fatal(err)
	}
	if err := ts.dir.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := ts.do(call{method: http.MethodGet, path: "/institutions/" + in.ID})
	var got httpapi.InstitutionJSON
	r.json(t, &got)
	if got.Images["icon"] != nil || got.Images["tile"] == nil || *got.Images["tile"] != "https://cdn.example/tile.png" {
		t.Errorf("images = %v", got.Images)
	}
}
