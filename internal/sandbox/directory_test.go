package sandbox

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"banklink"
)

// testDirSize keeps most tests fast; distribution checks use the default
// size because rare features (DOWN health) need many draws.
const testDirSize = 2000

func TestDirectoryDeterministic(t *testing.T) {
	a := Directory(DefaultSeed, testDirSize)
	b := Directory(DefaultSeed, testDirSize)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("same seed, different directories (-first +second):\n%s", diff)
	}
	c := Directory(DefaultSeed+1, testDirSize)
	if cmp.Equal(a, c) {
		t.Fatal("different seeds produced the same directory")
	}
	if a[len(a)-1].ID == c[len(c)-1].ID {
		t.Errorf("different seeds produced the same generated id %s", a[len(a)-1].ID)
	}
}

func TestDirectorySize(t *testing.T) {
	nTest := len(TestInstitutions()) + len(WellKnown())
	for _, tc := range []struct {
		name string
		n    int
		want int
	}{
		{name: "zero", n: 0, want: nTest},
		{name: "negative", n: -5, want: nTest},
		{name: "one", n: 1, want: nTest + 1},
		{name: "hundred", n: 100, want: nTest + 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := len(Directory(DefaultSeed, tc.n)); got != tc.want {
				t.Errorf("len(Directory(%d)) = %d, want %d", tc.n, got, tc.want)
			}
		})
	}
}

func TestDirectoryWellFormed(t *testing.T) {
	dir := Directory(DefaultSeed, DefaultDirectorySize)
	ids, keys, names := map[string]bool{}, map[string]bool{}, map[string]bool{}
	covered := 0
	for i, in := range dir {
		where := fmt.Sprintf("institution %d (%q)", i, in.Name)
		if len(in.ID) != banklink.IDLength || !banklink.IsBase58(in.ID) {
			t.Errorf("%s: id %q is not a %d-char base58 id", where, in.ID, banklink.IDLength)
		}
		if !banklink.IsBase58(in.Key) {
			t.Errorf("%s: key %q is not base58", where, in.Key)
		}
		for _, u := range []struct {
			kind string
			seen map[string]bool
			v    string
		}{{"id", ids, in.ID}, {"key", keys, in.Key}, {"name", names, in.Name}} {
			if u.seen[u.v] {
				t.Errorf("%s: duplicate %s %q", where, u.kind, u.v)
			}
			u.seen[u.v] = true
		}
		if !slices.Contains(banklink.InstitutionTypes, in.Type) {
			t.Errorf("%s: type %q", where, in.Type)
		}
		if len(in.Regions) == 0 {
			t.Errorf("%s: no regions", where)
		}
		for _, r := range in.Regions {
			if got, ok := banklink.ParseRegion(string(r)); !ok || got != r {
				t.Errorf("%s: invalid region %q", where, r)
			}
		}
		p, ok := in.Providers[ProviderType]
		if !ok {
			t.Errorf("%s: providers %v, want %q", where, in.Providers, ProviderType)
		}
		// sandbox-b covers a subset: never brokerages, OAuth banks or
		// investment products.
		if b, ok := in.Providers[ProviderTypeB]; ok {
			covered++
			if in.Type == banklink.InstitutionBrokerage || p.Redirect || b.Redirect ||
				banklink.NewProductSet(b.Products...).Has(banklink.InvestmentHoldings) || len(in.Providers) != 2 {
				t.Errorf("%s: sandbox-b coverage %v", where, b)
			}
		} else if len(in.Providers) != 1 {
			t.Errorf("%s: providers %v", where, in.Providers)
		}
		if len(p.Products) == 0 {
			t.Errorf("%s: no products", where)
		}
		if !slices.Contains([]string{banklink.HealthHealthy, banklink.HealthDegraded, banklink.HealthDown}, p.Health) {
			t.Errorf("%s: health %q", where, p.Health)
		}
		if i >= len(TestInstitutions()) {
			if in.IsTest {
				t.Errorf("%s: generated institution marked IsTest", where)
			}
			if want := i + 1; in.Rank != want {
				t.Errorf("%s: rank %d, want %d", where, in.Rank, want)
			}
			gen := i - len(TestInstitutions()) - len(WellKnown())
			if want := fmt.Sprintf("sbx_%d", gen+1); gen >= 0 && p.ProviderInstitutionID != want {
				t.Errorf("%s: provider institution id %q, want %q", where, p.ProviderInstitutionID, want)
			}
			if !strings.Contains(in.Domain, ".") || strings.HasPrefix(in.Domain, ".") {
				t.Errorf("%s: domain %q", where, in.Domain)
			}
		}
	}
	if covered < len(dir)/5 || covered > len(dir)/2 {
		t.Errorf("sandbox-b covers %d of %d institutions, want about a third", covered, len(dir))
	}
}

func TestDirectoryDistribution(t *testing.T) {
	dir := Directory(DefaultSeed, DefaultDirectorySize)[len(TestInstitutions()):]
	count := map[string]int{}
	for _, in := range dir {
		count["type "+in.Type]++
		p := in.Providers[ProviderType]
		if p.Redirect {
			count["oauth"]++
		}
		count["health "+p.Health]++
		set := banklink.NewProductSet(p.Products...)
		for _, prod := range banklink.Capabilities {
			if set.Has(prod) {
				count[string(prod)]++
			}
		}
		if in.Regions[0].Country() == "CA" {
			count["canada"]++
		}
		if len(in.Regions) == 1 && !in.Regions[0].IsSubdivision() {
			count["national"]++
		}
		if strings.ContainsAny(in.Name, "éèêàâîôûçÉÎ") {
			count["accented"]++
		}
		if len(in.Aliases) > 0 {
			count["aliases"]++
		}
		if in.SubName != "" {
			count["subName"]++
		}
		if set.Has(banklink.InvestmentHoldings) && in.Type == banklink.InstitutionBrokerage {
			count["brokerage investments"]++
		}
	}
	n := float64(len(dir))
	for _, tc := range []struct {
		name     string
		key      string
		min, max float64 // fractions of the directory
	}{
		{name: "banks", key: "type BANK", min: 0.50, max: 0.60},
		{name: "credit unions", key: "type CREDIT_UNION", min: 0.25, max: 0.35},
		{name: "brokerages", key: "type BROKERAGE", min: 0.09, max: 0.15},
		{name: "other", key: "type OTHER", min: 0.015, max: 0.05},
		{name: "oauth", key: "oauth", min: 0.06, max: 0.14},
		{name: "degraded", key: "health DEGRADED", min: 0.01, max: 0.03},
		{name: "down", key: "health DOWN", min: 0.001, max: 0.01},
		{name: "balances", key: "BALANCES", min: 0.9, max: 1},
		{name: "transactions", key: "TRANSACTIONS", min: 0.7, max: 0.95},
		{name: "historical transactions", key: "HISTORICAL_TRANSACTIONS", min: 0.25, max: 0.4},
		{name: "investment holdings by brokerages", key: "brokerage investments", min: 0.09, max: 0.15},
		{name: "canada", key: "canada", min: 0.12, max: 0.18},
		{name: "national", key: "national", min: 0.01, max: 0.03},
		{name: "accented names", key: "accented", min: 0.01, max: 0.1},
		{name: "aliases", key: "aliases", min: 0.05, max: 0.5},
		{name: "subName", key: "subName", min: 0.05, max: 0.3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := float64(count[tc.key]) / n
			if got < tc.min || got > tc.max {
				t.Errorf("%s: %.3f of the directory (%d), want %.3f..%.3f", tc.key, got, count[tc.key], tc.min, tc.max)
			}
		})
	}
}

// TestDirectoryRankFollowsSize checks that rank loosely follows size: the
// institutions serving a whole country, the largest ones, come first.
func TestDirectoryRankFollowsSize(t *testing.T) {
	dir := Directory(DefaultSeed, DefaultDirectorySize)[len(TestInstitutions()):]
	national := func(in *banklink.Institution) bool { return len(in.Regions) == 1 && !in.Regions[0].IsSubdivision() }
	top := 0
	for _, in := range dir[:200] {
		if national(in) {
			top++
		}
	}
	if top < 180 {
		t.Errorf("%d of the top 200 institutions serve a whole country, want at least 180", top)
	}
	for _, in := range dir[len(dir)/2:] {
		if national(in) {
			t.Errorf("institution ranked %d (%q) serves a whole country but ranks in the bottom half", in.Rank, in.Name)
		}
	}
}

func TestTestInstitutions(t *testing.T) {
	all := banklink.NewProductSet(banklink.Capabilities...)
	dir := Directory(DefaultSeed, 10)
	for _, tc := range []struct {
		name     string
		id       string
		typ      string
		products banklink.ProductSet
		regions  []banklink.Region
		redirect bool
		health   string
		aliases  []string
	}{
		{name: "Sandbox Bank", id: TestBankID, typ: banklink.InstitutionBank, products: all, regions: []banklink.Region{"US", "CA"}, health: banklink.HealthHealthy},
		{name: "Sandbox Credit Union", id: TestCreditUnionID, typ: banklink.InstitutionCreditUnion,
			products: banklink.NewProductSet(banklink.Balances, banklink.Identifiers, banklink.Owners, banklink.Transactions),
			regions:  []banklink.Region{"US"}, health: banklink.HealthHealthy},
		{name: "Sandbox Brokerage", id: TestBrokerageID, typ: banklink.InstitutionBrokerage,
			products: banklink.NewProductSet(banklink.Balances, banklink.Owners, banklink.InvestmentHoldings, banklink.InvestmentTransactions),
			regions:  []banklink.Region{"US", "CA"}, health: banklink.HealthHealthy, aliases: []string{"Sandbox Investments"}},
		{name: "Sandbox OAuth Bank", id: TestOAuthBankID, typ: banklink.InstitutionBank, products: all, regions: []banklink.Region{"US", "CA"}, redirect: true, health: banklink.HealthHealthy},
		{name: "Sandbox Down Bank", id: TestDownBankID, typ: banklink.InstitutionBank, products: all, regions: []banklink.Region{"US", "CA"}, health: banklink.HealthDown},
		{name: "Banque Sandbox du Québec", id: TestQuebecBankID, typ: banklink.InstitutionBank, products: all, regions: []banklink.Region{"CA-QC"}, health: banklink.HealthHealthy, aliases: []string{"Sandbox Quebec"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i := slices.IndexFunc(dir, func(in *banklink.Institution) bool { return in.ID == tc.id })
			if i < 0 {
				t.Fatalf("id %s not in the directory", tc.id)
			}
			in := dir[i]
			p := in.Providers[ProviderType]
			got := []any{in.Name, in.Type, in.IsTest, banklink.NewProductSet(p.Products...), in.Regions, p.Redirect, p.Health, in.Aliases}
			want := []any{tc.name, tc.typ, true, tc.products, tc.regions, tc.redirect, tc.health, tc.aliases}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			if in.Rank < 1 || in.Rank > 10 {
				t.Errorf("rank %d, want 1..10", in.Rank)
			}
			// No image URLs: nothing serves them, and a broken logo is worse
			// than the widget's initials.
			if in.Images != (banklink.InstitutionImages{}) {
				t.Errorf("images %+v, want none", in.Images)
			}
			if !banklink.IsBase58(in.ID) || len(in.ID) != banklink.IDLength {
				t.Errorf("id %q is not a %d-char base58 id", in.ID, banklink.IDLength)
			}
		})
	}
}

// TestTestInstitutionsFresh checks callers cannot corrupt each other's copy.
func TestTestInstitutionsFresh(t *testing.T) {
	a := TestInstitutions()
	a[0].Name = "changed"
	a[0].Regions[0] = "FR"
	b := TestInstitutions()
	if b[0].Name != "Sandbox Bank" || b[0].Regions[0] != "US" {
		t.Fatalf("TestInstitutions shares state between calls: %+v", b[0])
	}
}

func BenchmarkDirectory(b *testing.B) {
	if b.N > 50 {
		// One iteration generates 20,000 institutions; a fixed count meant
		// for fast benchmarks (-benchtime=2000x) would run for minutes.
		b.Skipf("%d iterations take minutes; use -benchtime=1s or -benchtime=20x", b.N)
	}
	b.ReportAllocs()
	for range b.N {
		Directory(DefaultSeed, DefaultDirectorySize)
	}
}

func TestWellKnown(t *testing.T) {
	list := WellKnown()
	again := WellKnown()
	if diff := cmp.Diff(list, again); diff != "" {
		t.Fatalf("not deterministic (-first +second):\n%s", diff)
	}
	byName := map[string]*banklink.Institution{}
	for _, in := range list {
		byName[in.Name] = in
		if in.IsTest || len(in.ID) != banklink.IDLength || !banklink.IsBase58(in.ID) {
			t.Errorf("%s: %+v", in.Name, in)
		}
	}
	// The seed request asks for every product in US and CA and searches
	// "Fidelity": it must find Fidelity.
	fid := byName["Fidelity Investments"]
	e := banklink.Eligibility{Products: banklink.NewProductSet(banklink.Products...), Regions: []banklink.Region{"US", "CA"}, AllowRedirect: true}
	if fid == nil || !fid.CheckEligibility(e).OK() {
		t.Errorf("Fidelity is not eligible for the seed request: %+v", fid)
	}
}
