package dirsync

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"testing"

	"banklink"
)

func pi(id string, products ...banklink.Product) banklink.ProviderInstitution {
	return banklink.ProviderInstitution{ProviderInstitutionID: id, Products: products, Redirect: true, Health: banklink.HealthHealthy}
}

func sbx() banklink.ProviderInstitution {
	return banklink.ProviderInstitution{ProviderInstitutionID: "sbx_1", Products: []banklink.Product{banklink.Balances}, Health: banklink.HealthHealthy}
}

func dir() []*banklink.Institution {
	return []*banklink.Institution{
		{ID: "chase", Key: "k1", Name: "Chase", Aliases: []string{"JPMorgan Chase Bank"}, Domain: "chase.com", Type: banklink.InstitutionBank, Rank: 1,
			Regions: []banklink.Region{"US"}, Providers: map[string]banklink.ProviderInstitution{"sandbox": sbx()}},
		{ID: "socgen", Key: "k2", Name: "Banque Société Générale", Type: banklink.InstitutionBank, Rank: 2,
			Regions: []banklink.Region{"CA"}, Providers: map[string]banklink.ProviderInstitution{"sandbox": sbx()}},
		{ID: "fnb-tx", Key: "k3", Name: "First National Bank", Domain: "fnb-tx.example", Type: banklink.InstitutionBank, Rank: 3,
			Regions: []banklink.Region{"US-TX"}, Providers: map[string]banklink.ProviderInstitution{"sandbox": sbx()}},
		{ID: "fnb-ne", Key: "k4", Name: "First National Bank", Domain: "fnb-ne.example", Type: banklink.InstitutionBank, Rank: 4,
			Regions: []banklink.Region{"US-NE"}, Providers: map[string]banklink.ProviderInstitution{"sandbox": sbx()}},
		{ID: "bmo", Key: "k5", Name: "BMO", Aliases: []string{"Bank of Montreal"}, Type: banklink.InstitutionBank, Rank: 5,
			Regions: []banklink.Region{"CA"}, Providers: map[string]banklink.ProviderInstitution{"sandbox": sbx()}},
		{ID: "smith", Key: "k7", Name: "Smith & Sons Bank", Type: banklink.InstitutionBank, Rank: 7, Regions: []banklink.Region{"US"},
			Providers: map[string]banklink.ProviderInstitution{"sandbox": sbx()}},
		{ID: "gone", Key: "k6", Name: "Gone Bank", Type: banklink.InstitutionBank, Rank: 6, Regions: []banklink.Region{"US"},
			Providers: map[string]banklink.ProviderInstitution{"sandbox": sbx(), "plaid": pi("ins_gone", banklink.Balances)}},
	}
}

func incoming(name, id string, regions []banklink.Region, domain string, products ...banklink.Product) *banklink.Institution {
	return &banklink.Institution{Name: name, Domain: domain, Type: banklink.InstitutionBank, Regions: regions,
		Images: banklink.InstitutionImages{Icon: "data:image/png;base64,AA=="}, Providers: map[string]banklink.ProviderInstitution{"plaid": pi(id, products...)}}
}

func byID(list []*banklink.Institution) map[string]*banklink.Institution {
	m := map[string]*banklink.Institution{}
	for _, in := range list {
		m[in.ID] = in
	}
	return m
}

func TestMerge(t *testing.T) {
	us, ca := []banklink.Region{"US"}, []banklink.Region{"CA"}
	all := []banklink.Product{banklink.Balances, banklink.Identifiers, banklink.Transactions}
	for _, tc := range []struct {
		name string
		in   *banklink.Institution
		// matched is the existing institution that gains the coverage;
		// "" means a new institution.
		matched string
	}{
		{"same name", incoming("Chase", "ins_56", us, "chase.com", all...), "chase"},
		{"case and punctuation", incoming("CHASE.", "ins_56", us, "", all...), "chase"},
		{"alias", incoming("JPMorgan  Chase   Bank", "ins_56", us, "", all...), "chase"},
		{"accents", incoming("BANQUE SOCIETE GENERALE", "ins_sg", ca, "", all...), "socgen"},
		{"alias with punctuation", incoming("Bank of Montreal!", "ins_bmo", ca, "", all...), "bmo"},
		{"ampersand", incoming("Smith and Sons' Bank", "ins_ss", us, "", all...), "smith"},
		{"same name told apart by domain", incoming("First National Bank", "ins_fnb1", us, "FNB-NE.example", all...), "fnb-ne"},
		{"same name told apart by region", incoming("First National Bank", "ins_fnb2", []banklink.Region{"US-TX"}, "", all...), "fnb-tx"},
		{"same name, ambiguous", incoming("First National Bank", "ins_fnb3", us, "", all...), ""},
		{"unknown", incoming("Houndstooth Bank", "ins_109512", us, "", all...), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			existing := dir()
			before := fmt.Sprintf("%+v", existing)
			updated, added := Merge(existing, []*banklink.Institution{tc.in}, "plaid")
			if after := fmt.Sprintf("%+v", existing); after != before {
				t.Fatal("Merge modified its input")
			}
			up := byID(updated)
			// Gone Bank's coverage is not in the (complete) listing.
			if g := up["gone"]; g == nil || g.Providers["plaid"].ProviderInstitutionID != "" || g.Providers["sandbox"].ProviderInstitutionID != "sbx_1" {
				t.Errorf("Gone Bank = %+v, want its plaid coverage removed and the rest kept", g)
			}
			delete(up, "gone")
			if tc.matched == "" {
				if len(up) != 0 || len(added) != 1 {
					t.Fatalf("updated %v added %v, want one new institution", updated, added)
				}
				n := added[0]
				if n.ID == "" || !banklink.IsBase58(n.ID) || len(n.Key) != 11 || !banklink.IsBase58(n.Key) || n.Name != tc.in.Name ||
					n.Rank != 8 || !reflect.DeepEqual(n.Providers, tc.in.Providers) || !slices.Equal(n.Regions, tc.in.Regions) {
					t.Errorf("new institution = %+v", n)
				}
				return
			}
			if len(added) != 0 || len(up) != 1 || up[tc.matched] == nil {
				t.Fatalf("updated %v added %v, want %s updated", updated, added, tc.matched)
			}
			got := up[tc.matched]
			if got.Providers["plaid"].ProviderInstitutionID != tc.in.Providers["plaid"].ProviderInstitutionID || got.Providers["sandbox"].ProviderInstitutionID != "sbx_1" {
				t.Errorf("providers = %+v", got.Providers)
			}
			var orig *banklink.Institution
			for _, in := range existing {
				if in.ID == tc.matched {
					orig = in
				}
			}
			if got.Name != orig.Name || got.Key != orig.Key || got.Rank != orig.Rank || !slices.Equal(got.Regions, orig.Regions) {
				t.Errorf("directory details changed: %+v, was %+v", got, orig)
			}
			if got.Images.Icon == "" || (orig.Domain == "" && got.Domain != tc.in.Domain) || (orig.Domain != "" && got.Domain != orig.Domain) {
				t.Errorf("missing details not filled (or own ones overwritten): %+v", got)
			}
		})
	}
}

func TestMergeDuplicatesAndReruns(t *testing.T) {
	us := []banklink.Region{"US"}
	listing := []*banklink.Institution{
		incoming("Chase", "ins_56", us, "", banklink.Balances),
		incoming("Chase", "ins_127", us, "", banklink.Balances, banklink.Transactions),
		incoming("Houndstooth Bank", "ins_h1", us, "", banklink.Balances),
		incoming("Houndstooth Bank", "ins_h2", us, "", banklink.Balances, banklink.Owners),
		incoming("Gone Bank", "ins_gone", us, "", banklink.Balances),
		{Name: "Sandbox only", Providers: map[string]banklink.ProviderInstitution{"sandbox": sbx()}},
	}
	updated, added := Merge(dir(), listing, "plaid")
	up := byID(updated)
	if up["chase"] == nil || up["chase"].Providers["plaid"].ProviderInstitutionID != "ins_127" {
		t.Errorf("updated = %+v, want Chase with its fuller coverage", updated)
	}
	// Gone Bank's coverage is unchanged, but the listing brings the logo
	// it lacked.
	if len(updated) != 2 || up["gone"] == nil || up["gone"].Images.Icon == "" {
		t.Errorf("updated = %+v, want Gone Bank with its logo too", updated)
	}
	if len(added) != 1 || added[0].Name != "Houndstooth Bank" || added[0].Providers["plaid"].ProviderInstitutionID != "ins_h2" {
		t.Fatalf("added = %+v, want one Houndstooth Bank with the fuller coverage", added)
	}
	// Merged into the directory, the same listing changes nothing more.
	merged := dir()
	for i, in := range merged {
		if u := up[in.ID]; u != nil {
			merged[i] = u
		}
	}
	merged = append(merged, added...)
	updated, added = Merge(merged, listing, "plaid")
	if len(updated) != 0 || len(added) != 0 {
		t.Errorf("rerun: updated %v added %v", nameList(updated), nameList(added))
	}
	// A provider renaming an institution keeps its match by id.
	renamed := slices.Clone(listing)
	renamed[3] = incoming("Houndstooth Bank N.A.", "ins_h2", us, "", banklink.Balances, banklink.Owners)
	updated, added = Merge(merged, renamed, "plaid")
	if len(updated) != 0 || len(added) != 0 {
		t.Errorf("after a rename: updated %v added %v", nameList(updated), nameList(added))
	}
	// New products at the provider refresh the coverage.
	more := slices.Clone(listing)
	more[1] = incoming("Chase", "ins_127", us, "", banklink.Balances, banklink.Transactions, banklink.Owners)
	updated, _ = Merge(merged, more, "plaid")
	if len(updated) != 1 || len(updated[0].Providers["plaid"].Products) != 3 {
		t.Errorf("after new products: %+v", updated)
	}
}

func nameList(list []*banklink.Institution) []string {
	var out []string
	for _, in := range list {
		out = append(out, in.Name)
	}
	sort.Strings(out)
	return out
}

func TestMergeNewInstitutionsGetDistinctIDs(t *testing.T) {
	var listing []*banklink.Institution
	for i := range 50 {
		listing = append(listing, incoming(fmt.Sprintf("Bank %d", i), fmt.Sprintf("ins_%d", i), []banklink.Region{"US"}, ""))
	}
	_, added := Merge(nil, listing, "plaid")
	ids, keys := map[string]bool{}, map[string]bool{}
	for i, in := range added {
		if ids[in.ID] || keys[in.Key] || in.Rank != i+1 || in.Type != banklink.InstitutionBank {
			t.Fatalf("institution %d = %+v", i, in)
		}
		ids[in.ID], keys[in.Key] = true, true
	}
	if len(added) != 50 {
		t.Errorf("%d added", len(added))
	}
}
