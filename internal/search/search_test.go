package search

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"banklink"
	"banklink/internal/sandbox"
)

// inst builds a fixture institution: a US bank served by the "sandbox"
// provider with BALANCES and TRANSACTIONS unless opts say otherwise.
func inst(id, name string, rank int, opts ...func(*banklink.Institution)) *banklink.Institution {
	in := &banklink.Institution{
		ID: id, Key: "key-" + id, Name: name, Rank: rank, Type: banklink.InstitutionBank,
		Regions: []banklink.Region{"US"},
		Providers: map[string]banklink.ProviderInstitution{
			"sandbox": {ProviderInstitutionID: "p-" + id, Products: []banklink.Product{banklink.Balances, banklink.Transactions}, Health: banklink.HealthHealthy},
		},
	}
	for _, o := range opts {
		o(in)
	}
	return in
}

func aliases(a ...string) func(*banklink.Institution) {
	return func(in *banklink.Institution) { in.Aliases = a }
}

func subName(s string) func(*banklink.Institution) {
	return func(in *banklink.Institution) { in.SubName = s }
}

func regions(r ...banklink.Region) func(*banklink.Institution) {
	return func(in *banklink.Institution) { in.Regions = r }
}

func typ(t string) func(*banklink.Institution) {
	return func(in *banklink.Institution) { in.Type = t }
}

// provider replaces the institution's providers with one, or adds it when
// add is set.
func provider(name string, redirect, add bool, products ...banklink.Product) func(*banklink.Institution) {
	return func(in *banklink.Institution) {
		if !add {
			in.Providers = map[string]banklink.ProviderInstitution{}
		}
		in.Providers[name] = banklink.ProviderInstitution{ProviderInstitutionID: "p-" + in.ID, Products: products, Redirect: redirect}
	}
}

func ids(list []*banklink.Institution) []string {
	out := make([]string, len(list))
	for i, in := range list {
		out[i] = in.ID
	}
	return out
}

var all = banklink.Eligibility{AllowRedirect: true}

func mustSearch(t *testing.T, ix *Index, q Query) Result {
	t.Helper()
	res, err := ix.Search(q)
	if err != nil {
		t.Fatalf("Search(%+v): %v", q, err)
	}
	if res.Count != len(res.Institutions) {
		t.Fatalf("Search(%+v): Count %d but %d institutions", q, res.Count, len(res.Institutions))
	}
	return res
}

func TestSearchRanking(t *testing.T) {
	ix := New([]*banklink.Institution{
		// Ranks deliberately run against the tiers: a better tier must
		// win over a more popular institution.
		inst("substring", "Hifidelity Bank", 1),
		inst("wordprefix", "Bank of Fidelity", 2),
		inst("wordprefix2", "National Fidelity Trust", 3),
		inst("prefix", "Fidelity Investments", 4),
		inst("prefix-popular", "Fidelity Bank", 3),
		inst("exact", "Fidelity", 9),
		inst("alias-only", "Nationwide Custody Services", 5, aliases("Fidelity Custody")),
		inst("subname-only", "Acme Trust", 6, subName("Fidelity Partners")),
		inst("quebec", "Caisse populaire de Québec", 7),
		inst("quebec-plain", "Quebec Savings", 8),
		inst("societe", "Société Générale", 10),
		inst("peoples", "People's Bank", 11),
		inst("fandm", "Farmers & Merchants Bank", 12, aliases("F&M Bank")),
		inst("tie-b", "Twin Bank", 20),
		inst("tie-a", "Twin Bank A", 20),
		inst("same-name-2", "Same Bank", 30),
		inst("same-name-1", "Same Bank", 30),
	})
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{name: "tiers then rank", query: "fidelity",
			want: []string{"exact", "prefix-popular", "prefix", "alias-only", "subname-only", "wordprefix", "wordprefix2", "substring"}},
		{name: "prefix of a word is a prefix match", query: "fidel",
			want: []string{"prefix-popular", "prefix", "alias-only", "subname-only", "exact", "wordprefix", "wordprefix2", "substring"}},
		{name: "word prefix of several words", query: "fid inv", want: []string{"prefix"}},
		{name: "second word alone", query: "investments", want: []string{"prefix"}},
		{name: "substring inside a word", query: "delity inv", want: []string{"prefix"}},
		{name: "substring across words", query: "ity ban", want: []string{"substring", "prefix-popular"}},
		{name: "query matching only an alias", query: "custody", want: []string{"alias-only"}},
		{name: "exact alias", query: "fidelity custody", want: []string{"alias-only"}},
		{name: "accent in name not in query", query: "quebec", want: []string{"quebec-plain", "quebec"}},
		{name: "accent in query not in name", query: "Québec", want: []string{"quebec-plain", "quebec"}},
		{name: "accents both sides", query: "SOCIÉTÉ gén", want: []string{"societe"}},
		{name: "apostrophe dropped", query: "peoples", want: []string{"peoples"}},
		{name: "apostrophe in query", query: "people's b", want: []string{"peoples"}},
		{name: "ampersand spelled out", query: "farmers and merchants", want: []string{"fandm"}},
		{name: "ampersand in query", query: "F&M", want: []string{"fandm"}},
		{name: "equal rank orders by name", query: "twin", want: []string{"tie-b", "tie-a"}},
		{name: "equal rank and name orders by id", query: "same bank", want: []string{"same-name-1", "same-name-2"}},
		{name: "no match", query: "zzz", want: []string{}},
		// One tier, in rank order.
		{name: "a typo: one letter missing", query: "fidelty", want: []string{"wordprefix", "prefix-popular", "wordprefix2", "prefix", "alias-only", "subname-only", "exact"}},
		{name: "a typo: two letters swapped", query: "fidleity inv", want: []string{"prefix"}},
		{name: "two typos in a long word", query: "merhcnats", want: []string{"fandm"}},
		{name: "a typo is not forgiven when the query matches as typed", query: "twin", want: []string{"tie-b", "tie-a"}},
		{name: "a typo in a four-letter word", query: "tvin", want: []string{"tie-b", "tie-a"}},
		{name: "no typo in a shorter word", query: "twn", want: []string{}},
		{name: "punctuation only is no filter", query: "?!", want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := mustSearch(t, ix, Query{Name: tc.query, Eligibility: all, Limit: 100})
			want := tc.want
			if want == nil {
				want = ids(ix.insts)
			}
			if diff := gocmp.Diff(want, ids(res.Institutions)); diff != "" {
				t.Errorf("Search(%q) mismatch (-want +got):\n%s", tc.query, diff)
			}
			if res.Remaining != 0 {
				t.Errorf("Remaining = %d, want 0", res.Remaining)
			}
		})
	}
}

func TestSearchNoNameOrder(t *testing.T) {
	ix := New([]*banklink.Institution{
		inst("c", "Charlie Bank", 2),
		inst("b2", "Bravo Bank", 1),
		inst("a", "Alpha Bank", 2),
		inst("b1", "Bravo Bank", 1),
	})
	res := mustSearch(t, ix, Query{Eligibility: all})
	if diff := gocmp.Diff([]string{"b1", "b2", "a", "c"}, ids(res.Institutions)); diff != "" {
		t.Errorf("order mismatch (-want +got):\n%s", diff)
	}
}

func TestSearchFilters(t *testing.T) {
	bal, tx, hist := banklink.Balances, banklink.Transactions, banklink.HistoricalTransactions
	ix := New([]*banklink.Institution{
		inst("us", "Whole US Bank", 1, regions("US")),
		inst("ny", "New York Bank", 2, regions("US-NY")),
		inst("ca-state", "California Bank", 3, regions("US-CA")),
		inst("ny-nj", "Tri-State Bank", 4, regions("US-NJ", "US-NY")),
		inst("canada", "Canada Bank", 5, regions("CA")),
		inst("qc", "Quebec Bank", 6, regions("CA-QC")),
		inst("oauth", "OAuth Bank", 7, provider("sandbox", true, false, bal, tx)),
		inst("oauth-or-password", "Mixed Bank", 8, provider("sandbox", true, false, bal, tx), provider("mx", false, true, bal, tx)),
		inst("hist", "History Bank", 9, provider("sandbox", false, false, bal, tx, hist)),
		inst("mx-only", "MX Bank", 10, provider("mx", false, false, bal, tx, hist)),
		inst("cu", "Some Credit Union", 11, typ(banklink.InstitutionCreditUnion)),
		inst("broker", "Some Brokerage", 12, typ(banklink.InstitutionBrokerage), provider("sandbox", false, false, bal, banklink.InvestmentHoldings)),
	})
	everything := ids(ix.insts)
	except := func(drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(everything), func(id string) bool { return slices.Contains(drop, id) })
	}
	nonUS := []string{"canada", "qc"}
	for _, tc := range []struct {
		name string
		q    Query
		want []string
	}{
		{name: "no filter", q: Query{Eligibility: all}, want: everything},
		{name: "subdivision matches country and that subdivision",
			q:    Query{Eligibility: banklink.Eligibility{AllowRedirect: true, Regions: []banklink.Region{"US-NY"}}},
			want: except(append([]string{"ca-state"}, nonUS...)...)},
		{name: "country matches its subdivisions",
			q:    Query{Eligibility: banklink.Eligibility{AllowRedirect: true, Regions: []banklink.Region{"US"}}},
			want: except(nonUS...)},
		{name: "country CA is not US-CA",
			q:    Query{Eligibility: banklink.Eligibility{AllowRedirect: true, Regions: []banklink.Region{"CA"}}},
			want: []string{"canada", "qc"}},
		{name: "several regions",
			q:    Query{Eligibility: banklink.Eligibility{AllowRedirect: true, Regions: []banklink.Region{"CA-QC", "US-CA"}}},
			want: except("ny", "ny-nj")},
		{name: "redirects disallowed hide OAuth-only institutions",
			q:    Query{Eligibility: banklink.Eligibility{}},
			want: except("oauth")},
		{name: "redirect rule only for enabled providers",
			q:    Query{Eligibility: banklink.Eligibility{Providers: map[string]bool{"sandbox": true}}},
			want: except("oauth", "oauth-or-password", "mx-only")},
		{name: "historical transactions as a required capability",
			q:    Query{Eligibility: banklink.Eligibility{AllowRedirect: true, Products: banklink.NewProductSet(tx, hist)}},
			want: []string{"hist", "mx-only"}},
		{name: "required product",
			q:    Query{Eligibility: banklink.Eligibility{AllowRedirect: true, Products: banklink.NewProductSet(banklink.InvestmentHoldings)}},
			want: []string{"broker"}},
		{name: "disabled provider",
			q:    Query{Eligibility: banklink.Eligibility{AllowRedirect: true, Providers: map[string]bool{"sandbox": true, "mx": false}}},
			want: except("mx-only")},
		{name: "no provider enabled", q: Query{Eligibility: banklink.Eligibility{AllowRedirect: true, Providers: map[string]bool{}}}, want: []string{}},
		{name: "service providers", q: Query{Eligibility: all, ServiceProviders: []string{"mx"}}, want: []string{"oauth-or-password", "mx-only"}},
		{name: "unknown service provider", q: Query{Eligibility: all, ServiceProviders: []string{"plaid"}}, want: []string{}},
		{name: "service providers combine with eligibility",
			q:    Query{Eligibility: banklink.Eligibility{AllowRedirect: true, Products: banklink.NewProductSet(hist)}, ServiceProviders: []string{"sandbox"}},
			want: []string{"hist"}},
		{name: "types", q: Query{Eligibility: all, Types: []string{banklink.InstitutionCreditUnion, banklink.InstitutionBrokerage}}, want: []string{"cu", "broker"}},
		{name: "unknown type", q: Query{Eligibility: all, Types: []string{"CASINO"}}, want: []string{}},
		{name: "name and filters", q: Query{Name: "bank", Eligibility: banklink.Eligibility{Regions: []banklink.Region{"US-NY"}}},
			want: []string{"us", "ny", "ny-nj", "oauth-or-password", "hist", "mx-only"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Limit = 100
			res := mustSearch(t, ix, tc.q)
			if diff := gocmp.Diff(tc.want, ids(res.Institutions)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			// The bitset filter must agree with the domain rule.
			for _, in := range res.Institutions {
				if why := in.CheckEligibility(tc.q.Eligibility); !why.OK() {
					t.Errorf("%s returned but CheckEligibility says %+v", in.ID, why)
				}
			}
			if got := ix.Count(tc.q.Eligibility); len(tc.q.Types) == 0 && len(tc.q.ServiceProviders) == 0 && tc.q.Name == "" && got != len(tc.want) {
				t.Errorf("Count = %d, want %d", got, len(tc.want))
			}
		})
	}
}

func TestCountAndExplain(t *testing.T) {
	bal, own, tx, hist := banklink.Balances, banklink.Owners, banklink.Transactions, banklink.HistoricalTransactions
	ix := New([]*banklink.Institution{
		inst("a", "A", 1, regions("US-NY"), provider("sandbox", false, false, bal, own, tx, hist)),
		inst("b", "B", 2, regions("US-NY"), provider("sandbox", false, false, bal, tx)),
		inst("c", "C", 3, regions("US-CA"), provider("sandbox", false, false, bal, own, tx)),
		inst("d", "D", 4, regions("US-CA"), provider("sandbox", false, false, bal)),
		inst("e", "E", 5, regions("US"), provider("sandbox", true, false, bal, own, tx)),
		inst("f", "F", 6, regions("CA"), provider("sandbox", false, false, bal, own)),
	})
	for _, tc := range []struct {
		name string
		e    banklink.Eligibility
		want Explanation
	}{
		{name: "no requirement", e: all, want: Explanation{Eligible: 6, WithoutProduct: map[banklink.Product]int{}, WithoutRegions: 6}},
		{name: "products and region",
			e:    banklink.Eligibility{Products: banklink.NewProductSet(own, tx), Regions: []banklink.Region{"US-NY"}},
			want: Explanation{Eligible: 1, WithoutProduct: map[banklink.Product]int{own: 2, tx: 1}, WithoutRegions: 2}},
		{name: "historical transactions counted as a product",
			e:    banklink.Eligibility{AllowRedirect: true, Products: banklink.NewProductSet(tx, hist)},
			want: Explanation{Eligible: 1, WithoutProduct: map[banklink.Product]int{tx: 1, hist: 4}, WithoutRegions: 1}},
		{name: "redirect allowed",
			e:    banklink.Eligibility{AllowRedirect: true, Products: banklink.NewProductSet(own), Regions: []banklink.Region{"US"}},
			want: Explanation{Eligible: 3, WithoutProduct: map[banklink.Product]int{own: 5}, WithoutRegions: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Twice: the second answer comes from the memo tables.
			for range 2 {
				if got := ix.Count(tc.e); got != tc.want.Eligible {
					t.Errorf("Count = %d, want %d", got, tc.want.Eligible)
				}
				got := ix.Explain(tc.e)
				if diff := gocmp.Diff(tc.want, got); diff != "" {
					t.Errorf("Explain mismatch (-want +got):\n%s", diff)
				}
				got.WithoutProduct[banklink.Balances] = 99 // must not corrupt the cache
			}
		})
	}
}

func TestCountCacheKey(t *testing.T) {
	ix := New([]*banklink.Institution{
		inst("a", "A", 1, regions("US-NY")),
		inst("b", "B", 2, regions("US-CA"), provider("mx", false, false, banklink.Balances)),
	})
	for _, tc := range []struct {
		name string
		e    banklink.Eligibility
		want int
	}{
		{name: "regions in one order", e: banklink.Eligibility{Regions: []banklink.Region{"US-NY", "US-CA"}}, want: 2},
		{name: "regions in the other order", e: banklink.Eligibility{Regions: []banklink.Region{"US-CA", "US-NY"}}, want: 2},
		{name: "nil providers enable all", e: banklink.Eligibility{}, want: 2},
		{name: "empty providers enable none", e: banklink.Eligibility{Providers: map[string]bool{}}, want: 0},
		{name: "false entries ignored", e: banklink.Eligibility{Providers: map[string]bool{"sandbox": true, "mx": false}}, want: 1},
		{name: "other provider", e: banklink.Eligibility{Providers: map[string]bool{"mx": true}}, want: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ix.Count(tc.e); got != tc.want {
				t.Errorf("Count = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestCountCacheBounded(t *testing.T) {
	ix := New([]*banklink.Institution{inst("a", "A", 1, regions("US-NY"))})
	for i := range maxCacheEntries + 10 {
		ix.Count(banklink.Eligibility{Providers: map[string]bool{fmt.Sprint(i): true}})
	}
	ix.cacheMu.RLock()
	defer ix.cacheMu.RUnlock()
	if len(ix.counts) > maxCacheEntries {
		t.Errorf("count cache holds %d entries, want at most %d", len(ix.counts), maxCacheEntries)
	}
}

// multiProviderDirectory is a generated directory where every third
// institution is also reachable through a second provider with different
// products and login, so the eligibility checks see real provider choices.
func multiProviderDirectory(n int) []*banklink.Institution {
	dir := sandbox.Directory(sandbox.DefaultSeed, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i, in := range dir {
		if i%3 != 0 {
			continue
		}
		var ps []banklink.Product
		for _, p := range banklink.Capabilities {
			if r.IntN(2) == 0 {
				ps = append(ps, p)
			}
		}
		in.Providers = maps.Clone(in.Providers)
		in.Providers["mx"] = banklink.ProviderInstitution{ProviderInstitutionID: "mx" + in.ID, Products: ps, Redirect: r.IntN(4) == 0}
	}
	return dir
}

var eligibilityDir = sync.OnceValue(func() []*banklink.Institution {
	return multiProviderDirectory(sandbox.DefaultDirectorySize)
})

// TestEligibilityAgreesWithCheckEligibility compares the bitset evaluation
// with the domain rule on the whole generated directory.
func TestEligibilityAgreesWithCheckEligibility(t *testing.T) {
	dir := eligibilityDir()
	ix := New(dir)
	regionSets := [][]banklink.Region{nil, {"US"}, {"CA"}, {"US-NY"}, {"CA-QC"}, {"US-TX", "CA-ON"}, {"US-CA"}, {"FR"}, {"US-NY", "US"}}
	providerSets := []map[string]bool{nil, {"sandbox": true}, {"mx": true}, {}, {"sandbox": false, "mx": true}, {"plaid": true}}
	r := rand.New(rand.NewPCG(3, 4))
	var cases []banklink.Eligibility
	for products := range banklink.ProductSet(1 << len(banklink.Capabilities)) {
		cases = append(cases, banklink.Eligibility{
			Products: products, Regions: regionSets[r.IntN(len(regionSets))],
			AllowRedirect: r.IntN(2) == 0, Providers: providerSets[r.IntN(len(providerSets))],
		})
	}
	for _, rs := range regionSets {
		for _, ps := range providerSets {
			for _, redirect := range []bool{false, true} {
				cases = append(cases, banklink.Eligibility{Products: banklink.NewProductSet(banklink.Transactions), Regions: rs, AllowRedirect: redirect, Providers: ps})
			}
		}
	}
	// A product bit no institution has makes everything ineligible.
	cases = append(cases, banklink.Eligibility{Products: 1 << 12, AllowRedirect: true})
	for _, e := range cases {
		bits, tmp := newBitset(ix.n), newBitset(ix.n)
		ix.eligible(e, bits, tmp)
		want := 0
		for i, in := range ix.insts {
			ok := in.CheckEligibility(e).OK()
			if ok {
				want++
			}
			if bits.has(i) != ok {
				t.Fatalf("eligibility %+v: %s (%s): bitset says %v, CheckEligibility says %+v", e, in.ID, in.Name, bits.has(i), in.CheckEligibility(e))
			}
		}
		if got := ix.Count(e); got != want {
			t.Fatalf("eligibility %+v: Count = %d, want %d", e, got, want)
		}
	}
}

// naiveTier is the ranking rule written the slow, obvious way: 1 exact,
// 2 prefix, 3 word prefix, 4 substring, 0 no match.
func naiveTier(in *banklink.Institution, q string) int {
	best := 0
	qw := strings.Fields(q)
	for _, s := range append(append([]string{in.Name}, in.Aliases...), in.SubName) {
		s = Normalize(s)
		if s == "" {
			continue
		}
		tier := 0
		switch {
		case s == q:
			tier = 1
		case strings.HasPrefix(s, q):
			tier = 2
		case !slices.ContainsFunc(qw, func(w string) bool {
			return !slices.ContainsFunc(strings.Fields(s), func(sw string) bool { return strings.HasPrefix(sw, w) })
		}):
			tier = 3
		case strings.Contains(s, q):
			tier = 4
		}
		if tier != 0 && (best == 0 || tier < best) {
			best = tier
		}
	}
	return best
}

// naiveTypoMatch: every query word starts a word of one of in's names or
// is within Typos of one (by naiveEdits).
func naiveTypoMatch(in *banklink.Institution, q string) bool {
	for _, s := range append(append([]string{in.Name}, in.Aliases...), in.SubName) {
		s = Normalize(s)
		if s != "" && !slices.ContainsFunc(strings.Fields(q), func(w string) bool {
			return !slices.ContainsFunc(strings.Fields(s), func(sw string) bool {
				return strings.HasPrefix(sw, w) || naiveEdits(w, sw) <= Typos(len(w))
			})
		}) {
			return true
		}
	}
	return false
}

// naiveEdits is the optimal string alignment distance, the textbook way.
func naiveEdits(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// naiveSearch returns every match of q in order.
func naiveSearch(list []*banklink.Institution, q Query) []*banklink.Institution {
	name := Normalize(q.Name)
	type hit struct {
		in   *banklink.Institution
		tier int
	}
	var hits []hit
	for _, in := range list {
		if !in.CheckEligibility(q.Eligibility).OK() {
			continue
		}
		if len(q.ServiceProviders) > 0 && !in.SupportsAny(q.ServiceProviders) {
			continue
		}
		if len(q.Types) > 0 && !slices.Contains(q.Types, in.Type) {
			continue
		}
		tier := 1
		if name != "" {
			if tier = naiveTier(in, name); tier == 0 {
				continue
			}
		}
		hits = append(hits, hit{in, tier})
	}
	if name != "" && len(hits) == 0 {
		// Nothing matched as typed: the typo tier, filtered the same way.
		for _, in := range list {
			if in.CheckEligibility(q.Eligibility).OK() && (len(q.ServiceProviders) == 0 || in.SupportsAny(q.ServiceProviders)) &&
				(len(q.Types) == 0 || slices.Contains(q.Types, in.Type)) && naiveTypoMatch(in, name) {
				hits = append(hits, hit{in, 5})
			}
		}
	}
	slices.SortFunc(hits, func(a, b hit) int {
		return cmp.Or(cmp.Compare(a.tier, b.tier), cmp.Compare(a.in.Rank, b.in.Rank),
			strings.Compare(Normalize(a.in.Name), Normalize(b.in.Name)), strings.Compare(a.in.ID, b.in.ID))
	})
	out := make([]*banklink.Institution, len(hits))
	for i, h := range hits {
		out[i] = h.in
	}
	return out
}

var smallDir = sync.OnceValue(func() []*banklink.Institution { return multiProviderDirectory(3000) })

// TestSearchMatchesNaive checks Search, page by page in both directions,
// against the obvious implementation on a generated directory.
func TestSearchMatchesNaive(t *testing.T) {
	dir := smallDir()
	ix := New(dir)
	ny := banklink.Eligibility{Products: banklink.NewProductSet(banklink.Balances, banklink.Transactions), Regions: []banklink.Region{"US-NY", "CA-QC"}}
	for _, tc := range []struct {
		name string
		q    Query
	}{
		{name: "common prefix", q: Query{Name: "first", Eligibility: all}},
		{name: "common word", q: Query{Name: "bank", Eligibility: all}},
		{name: "one letter", q: Query{Name: "a", Eligibility: all}},
		{name: "two letters", q: Query{Name: "st", Eligibility: all}},
		{name: "abbreviation alias", q: Query{Name: "fcu", Eligibility: all}},
		{name: "word prefixes", q: Query{Name: "fed cred", Eligibility: all}},
		{name: "word prefixes out of order", q: Query{Name: "union credit", Eligibility: all}},
		{name: "across words", q: Query{Name: "nk of", Eligibility: all}},
		{name: "three words across", q: Query{Name: "al bank of", Eligibility: all}},
		{name: "accented", q: Query{Name: "Québec", Eligibility: all}},
		{name: "french", q: Query{Name: "caisse pop", Eligibility: all}},
		{name: "sandbox", q: Query{Name: "sandbox", Eligibility: all}},
		{name: "substring of a word", q: Query{Name: "ville", Eligibility: all}},
		{name: "no match", q: Query{Name: "qqqq", Eligibility: all}},
		{name: "typo, one word", q: Query{Name: "fedearl", Eligibility: all}},
		{name: "typos, several words", q: Query{Name: "fedral credti unoin", Eligibility: all}},
		{name: "typo and a prefix", q: Query{Name: "sandbx ba", Eligibility: all}},
		{name: "typo, filtered", q: Query{Name: "credti", Eligibility: ny}},
		{name: "filtered", q: Query{Name: "bank", Eligibility: ny}},
		{name: "filtered no name", q: Query{Eligibility: ny}},
		{name: "types and providers", q: Query{Name: "c", Eligibility: all, Types: []string{banklink.InstitutionCreditUnion}, ServiceProviders: []string{"mx"}}},
		{name: "unfiltered", q: Query{Eligibility: all}},
		{name: "nothing eligible", q: Query{Name: "bank", Eligibility: banklink.Eligibility{Providers: map[string]bool{}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := ids(naiveSearch(dir, tc.q))
			if strings.HasPrefix(tc.name, "typo") && len(want) == 0 {
				t.Fatal("nothing in the directory is a typo away: the case tests nothing")
			}
			for _, limit := range []int{0, 7, 1000} {
				q := tc.q
				q.Limit = limit
				pageSize := cmp.Or(limit, DefaultLimit)

				// Forward with After cursors.
				var got []string
				for {
					res := mustSearch(t, ix, q)
					got = append(got, ids(res.Institutions)...)
					if res.Count > pageSize {
						t.Fatalf("page of %d, limit %d", res.Count, pageSize)
					}
					if wantRem := len(want) - len(got); res.Remaining != wantRem {
						t.Fatalf("after %d results: Remaining = %d, want %d", len(got), res.Remaining, wantRem)
					}
					if res.Remaining == 0 {
						break
					}
					if res.Count == 0 {
						t.Fatal("empty page with matches remaining")
					}
					q.After = res.Institutions[res.Count-1].Key
				}
				if diff := gocmp.Diff(want, got, cmpEmpty); diff != "" {
					t.Fatalf("limit %d, walking forward (-want +got):\n%s", limit, diff)
				}
				if len(want) == 0 {
					continue
				}

				// Backward with Before cursors from the last match.
				q.After, q.Before = "", ix.insts[ix.byKey[mustKey(t, ix, want[len(want)-1])]].Key
				back := []string{want[len(want)-1]}
				for {
					res := mustSearch(t, ix, q)
					back = append(ids(res.Institutions), back...)
					if wantRem := len(want) - len(back); res.Remaining != wantRem {
						t.Fatalf("walking back, %d results: Remaining = %d, want %d", len(back), res.Remaining, wantRem)
					}
					if res.Remaining == 0 {
						break
					}
					q.Before = res.Institutions[0].Key
				}
				if diff := gocmp.Diff(want, back); diff != "" {
					t.Fatalf("limit %d, walking back (-want +got):\n%s", limit, diff)
				}
			}
		})
	}
}

var cmpEmpty = gocmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })

func mustKey(t *testing.T, ix *Index, id string) string {
	t.Helper()
	in, ok := ix.ByID(id)
	if !ok {
		t.Fatalf("no institution %s", id)
	}
	return in.Key
}

func TestSearchPagination(t *testing.T) {
	var list []*banklink.Institution
	for i := range 25 {
		list = append(list, inst(fmt.Sprintf("i%02d", i), fmt.Sprintf("Bank %02d", i), i+1))
	}
	list = append(list, inst("other", "Other Credit Union", 100, typ(banklink.InstitutionCreditUnion)))
	ix := New(list)
	key := func(i int) string { return fmt.Sprintf("key-i%02d", i) }
	rng := func(from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, fmt.Sprintf("i%02d", i))
		}
		return out
	}
	for _, tc := range []struct {
		name          string
		q             Query
		want          []string
		wantRemaining int
	}{
		{name: "first page", q: Query{Name: "bank", Limit: 10}, want: rng(0, 10), wantRemaining: 15},
		{name: "default limit", q: Query{Name: "bank"}, want: rng(0, 10), wantRemaining: 15},
		{name: "after", q: Query{Name: "bank", Limit: 10, After: key(9)}, want: rng(10, 20), wantRemaining: 5},
		{name: "after near the end", q: Query{Name: "bank", Limit: 10, After: key(19)}, want: rng(20, 25), wantRemaining: 0},
		{name: "after the last", q: Query{Name: "bank", Limit: 10, After: key(24)}, want: []string{}, wantRemaining: 0},
		{name: "before", q: Query{Name: "bank", Limit: 10, Before: key(20)}, want: rng(10, 20), wantRemaining: 10},
		{name: "before near the start", q: Query{Name: "bank", Limit: 10, Before: key(4)}, want: rng(0, 4), wantRemaining: 0},
		{name: "before the first", q: Query{Name: "bank", Limit: 10, Before: key(0)}, want: []string{}, wantRemaining: 0},
		{name: "limit one", q: Query{Name: "bank", Limit: 1, After: key(3)}, want: rng(4, 5), wantRemaining: 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Eligibility = all
			res := mustSearch(t, ix, tc.q)
			if diff := gocmp.Diff(tc.want, ids(res.Institutions)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			if res.Remaining != tc.wantRemaining {
				t.Errorf("Remaining = %d, want %d", res.Remaining, tc.wantRemaining)
			}
		})
	}
}

func TestSearchBadCursor(t *testing.T) {
	ix := New([]*banklink.Institution{
		inst("a", "Alpha Bank", 1),
		inst("b", "Bravo Bank", 2),
		inst("cu", "Charlie Credit Union", 3, typ(banklink.InstitutionCreditUnion)),
		inst("oauth", "OAuth Bank", 4, provider("sandbox", true, false, banklink.Balances)),
	})
	for _, tc := range []struct {
		name    string
		q       Query
		message string
	}{
		{name: "unknown after", q: Query{After: "nope"}, message: "[after] is not a cursor of this search"},
		{name: "unknown before", q: Query{Before: "nope"}, message: "[before] is not a cursor of this search"},
		{name: "after not matching the name", q: Query{Name: "bank", After: "key-cu"}, message: "[after]"},
		{name: "before not matching the type", q: Query{Types: []string{banklink.InstitutionBank}, Before: "key-cu"}, message: "[before]"},
		{name: "after not eligible", q: Query{Eligibility: banklink.Eligibility{}, After: "key-oauth"}, message: "[after]"},
		{name: "both cursors", q: Query{After: "key-a", Before: "key-b"}, message: "either [before] or [after]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name != "after not eligible" {
				tc.q.Eligibility = all
			}
			_, err := ix.Search(tc.q)
			if code := banklink.ErrorCode(err); code != banklink.EBADREQUEST {
				t.Fatalf("error %v (code %s), want %s", err, code, banklink.EBADREQUEST)
			}
			if msg := banklink.ErrorMessage(err); !strings.Contains(msg, tc.message) {
				t.Errorf("message %q, want it to contain %q", msg, tc.message)
			}
		})
	}
}

func TestIndexLookups(t *testing.T) {
	ix := New([]*banklink.Institution{inst("a", "Alpha", 2), nil, inst("b", "Bravo", 1)})
	if ix.Len() != 2 {
		t.Errorf("Len = %d, want 2", ix.Len())
	}
	for _, tc := range []struct {
		name   string
		lookup func(string) (*banklink.Institution, bool)
		arg    string
		want   string
	}{
		{name: "by id", lookup: ix.ByID, arg: "a", want: "a"},
		{name: "by id missing", lookup: ix.ByID, arg: "key-a"},
		{name: "by key", lookup: ix.ByKey, arg: "key-b", want: "b"},
		{name: "by key missing", lookup: ix.ByKey, arg: "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, ok := tc.lookup(tc.arg)
			if ok != (tc.want != "") || ok && in.ID != tc.want {
				t.Errorf("lookup(%q) = %v, %v; want %q", tc.arg, in, ok, tc.want)
			}
		})
	}
	empty := New(nil)
	if res := mustSearch(t, empty, Query{Name: "x"}); res.Count != 0 || res.Remaining != 0 {
		t.Errorf("empty index search = %+v", res)
	}
}

// FuzzSearch checks that arbitrary input never panics and, as a
// differential test, that every page equals the same page cut from
// naiveSearch's complete answer.
func FuzzSearch(f *testing.F) {
	dir := sandbox.Directory(sandbox.DefaultSeed, 300)
	ix := New(dir)
	for _, s := range []struct {
		name, after, before string
		limit               uint16
	}{
		{"first", "", "", 10},
		{"", dir[20].Key, "", 5},
		{"bank", "", dir[50].Key, 3},
		{"Québec", "", "", 0},
		{"a b c", "nope", "", 1000},
		{"\xff&'", "", "", 7},
		{"fed cred", dir[3].Key, dir[4].Key, 2},
		{"nk of", dir[7].Key, "", 4},
	} {
		f.Add(s.name, s.after, s.before, s.limit)
	}
	f.Fuzz(func(t *testing.T, name, after, before string, limit uint16) {
		q := Query{Name: name, After: after, Before: before, Limit: int(limit % 1001), Eligibility: all}
		res, err := ix.Search(q)
		if err != nil {
			var e *banklink.Error
			if !errors.As(err, &e) || e.Code != banklink.EBADREQUEST {
				t.Fatalf("Search(%+v): %v, want a result or %s", q, err, banklink.EBADREQUEST)
			}
		} else if res.Count != len(res.Institutions) || res.Count > cmp.Or(q.Limit, DefaultLimit) || res.Remaining < 0 {
			t.Fatalf("Search(%+v) = Count %d, %d institutions, Remaining %d", q, res.Count, len(res.Institutions), res.Remaining)
		}

		want := ids(naiveSearch(dir, q))
		size := cmp.Or(q.Limit, DefaultLimit)
		var wantPage []string
		var wantRemaining int
		cursor := slices.IndexFunc(want, func(id string) bool { in, _ := ix.ByID(id); return in.Key == cmp.Or(after, before) })
		switch {
		case after != "" && before != "", (after != "" || before != "") && cursor < 0:
			if err == nil {
				t.Fatalf("Search(%+v) succeeded, want an error", q)
			}
			return
		case before != "":
			start := max(0, cursor-size)
			wantPage, wantRemaining = want[start:cursor], start
		default:
			start := 0
			if after != "" {
				start = cursor + 1
			}
			end := min(len(want), start+size)
			wantPage, wantRemaining = want[start:end], len(want)-end
		}
		if err != nil {
			t.Fatalf("Search(%+v): %v, want a page", q, err)
		}
		if diff := gocmp.Diff(wantPage, ids(res.Institutions), cmpEmpty); diff != "" || res.Remaining != wantRemaining {
			t.Fatalf("Search(%+v): Remaining %d, want %d; page (-want +got):\n%s", q, res.Remaining, wantRemaining, diff)
		}
	})
}

// TestWithinEdits checks the banded, early-exit distance against the
// textbook one on every pair of short strings over a small alphabet
// (where swaps, repeats and near misses are dense), for each bound.
func TestWithinEdits(t *testing.T) {
	var words []string
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		words = append(words, prefix)
		if n == 0 {
			return
		}
		for _, c := range "abc" {
			gen(prefix+string(c), n-1)
		}
	}
	gen("", 5)
	for _, a := range words {
		for _, b := range words {
			want := naiveEdits(a, b)
			for d := 0; d <= 3; d++ {
				if got := withinEdits(a, b, d); got != (want <= d) {
					t.Fatalf("withinEdits(%q, %q, %d) = %v; distance %d", a, b, d, got, want)
				}
			}
		}
	}
}

func TestByProviderID(t *testing.T) {
	inst := func(id string, providers map[string]string) *banklink.Institution {
		in := &banklink.Institution{ID: id, Name: "Bank " + id, Rank: 1, Providers: map[string]banklink.ProviderInstitution{}}
		for p, pid := range providers {
			in.Providers[p] = banklink.ProviderInstitution{ProviderInstitutionID: pid}
		}
		return in
	}
	ix := New([]*banklink.Institution{
		inst("a", map[string]string{"plaid": "ins_1", "mx": "mx_a"}),
		inst("b", map[string]string{"plaid": "ins_2"}),
	})
	for _, tc := range []struct {
		name, provider, id, want string
	}{
		{"plaid's id", "plaid", "ins_2", "b"},
		{"mx's id", "mx", "mx_a", "a"},
		{"another provider's id", "mx", "ins_1", ""},
		{"unknown", "plaid", "ins_9", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ix.ByProviderID(tc.provider, tc.id)
			if (tc.want == "") == ok || (ok && got.ID != tc.want) {
				t.Errorf("got %v %v, want %q", got, ok, tc.want)
			}
		})
	}
}
