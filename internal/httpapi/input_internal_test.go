package httpapi

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"banklink"
	"banklink/internal/apitest"
)

// TestQueryParamsMatchOpenAPI: the query parameters the API accepts on
// each route (queryParams) are exactly those openapi.yaml documents, and
// the multi-valued ones are documented as arrays of at most MaxListItems.
// The table and the document cannot drift apart.
func TestQueryParamsMatchOpenAPI(t *testing.T) {
	doc, _ := apitest.Spec(t, OpenAPI)
	s := New(struct{ banklink.Store }{}, nil, nil, nil, Config{})
	wildcard := regexp.MustCompile(`\{[^}]*\}`)
	norm := func(path string) string { return wildcard.ReplaceAllString(path, "{}") }
	muxPath := map[string]string{} // normalised path -> the mux's spelling
	for path := range s.methods {
		muxPath[norm(path)] = path
	}
	seen := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Security != nil { // not an API-key endpoint
				continue
			}
			mp, ok := muxPath[norm(path)]
			if !ok || !slices.Contains(s.methods[mp], method) {
				t.Errorf("%s %s is documented but not routed", method, path)
				continue
			}
			pattern := method + " " + mp
			seen[pattern] = true
			want := queryParams[pattern]
			got := map[string]paramKind{}
			for _, p := range append(op.Parameters, item.Parameters...) {
				if p.Value.In != "query" {
					continue
				}
				kind := single
				if sc := p.Value.Schema.Value; sc.Type.Is("array") {
					kind = list
					if sc.MaxItems == nil || *sc.MaxItems != MaxListItems || p.Value.Explode == nil || *p.Value.Explode {
						t.Errorf("%s: list parameter %s must be documented with maxItems %d and explode: false", pattern, p.Value.Name, MaxListItems)
					}
				}
				got[p.Value.Name] = kind
			}
			for name, kind := range want {
				if g, ok := got[name]; !ok {
					t.Errorf("%s: %s is accepted but not in openapi.yaml", pattern, name)
				} else if g != kind {
					t.Errorf("%s: %s is a list in one of queryParams and openapi.yaml only", pattern, name)
				}
			}
			for name := range got {
				if _, ok := want[name]; !ok {
					t.Errorf("%s: %s is documented but refused (add it to queryParams)", pattern, name)
				}
			}
		}
	}
	for pattern := range queryParams {
		if !seen[pattern] {
			t.Errorf("queryParams has %s, which is not a documented API route", pattern)
		}
	}
	if len(seen) < 30 || !strings.Contains(strings.Join(sortedKeys(seen), " "), "GET /bank-linking/connections/{id}") {
		t.Errorf("only %d API routes compared: %v", len(seen), sortedKeys(seen))
	}
}
