package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// listFilters maps each list operation to the filter its method takes
// (nil: the operation takes no parameters).
var listFilters = map[string]any{
	"searchConnections":            ConnectionFilter{},
	"searchFinancialAccounts":      AccountFilter{},
	"searchTransactions":           TransactionFilter{},
	"searchHoldings":               HoldingFilter{},
	"searchInvestmentTransactions": InvestmentTransactionFilter{},
	"searchCustomers":              CustomerFilter{},
	"searchInstitutions":           InstitutionFilter{},
	"searchEvents":                 EventFilter{},
	"searchActivity":               ActivityFilter{},
	"searchServiceProviders":       nil,
	"searchWebhookProfiles":        nil,
}

// filled returns a filter of type t with every field set, embedded
// structs included.
func filled(t *testing.T, typ reflect.Type) reflect.Value {
	v := reflect.New(typ).Elem()
	for i := range typ.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Struct:
			f.Set(filled(t, f.Type()))
		case reflect.String:
			f.SetString("x")
		case reflect.Int:
			f.SetInt(5)
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{"a", "b"}))
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
		default:
			t.Fatalf("%s.%s: unexpected kind %s", typ.Name(), typ.Field(i).Name, f.Kind())
		}
	}
	return v
}

// TestFiltersMatchOpenAPI fills every field of each list's filter and
// checks that the query the pager sends names exactly the parameters
// openapi.yaml lists for the operation: a parameter the API gains
// without a filter field, a misspelt tag or a field the pager cannot
// encode fails here.
func TestFiltersMatchOpenAPI(t *testing.T) {
	ops := operations(loadSpec(t))
	for id, resps := range clientOps {
		if resps[0].field == "" {
			continue
		}
		if _, ok := listFilters[id]; !ok {
			t.Errorf("list operation %s has no entry in listFilters", id)
		}
	}
	for id, filter := range listFilters {
		t.Run(id, func(t *testing.T) {
			op := ops[id]
			if op == nil {
				t.Fatalf("no operation %s in openapi.yaml", id)
			}
			var want []string
			for _, p := range op.Parameters {
				if p.Value != nil && p.Value.In == "query" {
					want = append(want, p.Value.Name)
				}
			}
			var q url.Values
			if filter != nil {
				q = encodeQuery(filled(t, reflect.TypeOf(filter)).Interface())
			}
			var got []string
			for k := range q {
				got = append(got, k)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("filter %T sends %v, openapi.yaml lists %v", filter, got, want)
			}
		})
	}
}

func TestEncodeQuery(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name   string
		filter any
		want   string
	}{
		{"nil", nil, ""},
		{"empty values left out", TransactionFilter{}, ""},
		{"strings and paging", TransactionFilter{ConnectionID: "c 1", Page: Page{Limit: 3, After: "k2"}}, "after=k2&connectionId=c+1&limit=3"},
		{"lists joined by commas", ActivityFilter{Actions: []string{"A", "B"}, EventTypes: []string{}}, "actions=A%2CB"},
		{"walking backward", EventFilter{Page: Page{Before: "k9"}}, "before=k9"},
		{"bool true", InstitutionFilter{AllowRedirect: &yes}, "allowRedirect=true"},
		{"bool false is sent", InstitutionFilter{AllowRedirect: &no}, "allowRedirect=false"},
		{"renamed parameter", InstitutionFilter{Types: []string{"BANK"}}, "type=BANK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := encodeQuery(tc.filter).Encode(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestIteratorRangedTwice: an iterator is a value an app may range over
// again (to retry, say); each time starts from the filter's first page.
func TestIteratorRangedTwice(t *testing.T) {
	const total = 5
	c, f, _ := newFake(t, nil)
	f.handler = func(w http.ResponseWriter, r *http.Request) {
		start := 0
		if a := r.URL.Query().Get("after"); a != "" {
			fmt.Sscanf(a, "k%d", &start)
			start++
		}
		var page []map[string]any
		for i := start; i < min(start+2, total); i++ {
			page = append(page, map[string]any{"id": fmt.Sprint("e", i), "key": fmt.Sprint("k", i)})
		}
		json.NewEncoder(w).Encode(map[string]any{"activities": page, "count": len(page), "remaining": total - start - len(page)})
	}
	seq := c.Activity(context.Background(), ActivityFilter{ConnectionID: "c1", Page: Page{Limit: 2}})
	for round := range 2 {
		var ids []string
		for a, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, a.ID)
		}
		if got := strings.Join(ids, ","); got != "e0,e1,e2,e3,e4" {
			t.Errorf("round %d: %s", round+1, got)
		}
	}
}

// TestIteratorWithoutKeys: records without a key (webhook profiles) end
// the walk after one page instead of asking for the same page forever.
func TestIteratorWithoutKeys(t *testing.T) {
	c, f, _ := newFake(t, []scripted{{200, "", `{"profiles":[{"id":"p1"},{"id":"p2"}],"remaining":3}`}})
	n := 0
	for _, err := range c.WebhookProfiles(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 || len(f.reqs) != 1 {
		t.Errorf("%d profiles in %d requests, want 2 in 1", n, len(f.reqs))
	}
}
