package search

import (
	"slices"
	"testing"

	"banklink"
	"banklink/internal/sandbox"
)

func routingNumbers(rn ...string) func(*banklink.Institution) {
	return func(in *banklink.Institution) { in.RoutingNumbers = rn }
}

func TestSearchRoutingNumbers(t *testing.T) {
	ix := New([]*banklink.Institution{
		inst("chase", "Chase", 1, routingNumbers("021000021", "322271627")),
		inst("citi", "Citibank", 2, routingNumbers("021000089")),
		inst("wf", "Wells Fargo", 3, routingNumbers("121000248")),
		// Two institutions share a number (a merger, a provider listing a
		// bank twice): both are found.
		inst("nfcu", "Navy Federal Credit Union", 4, typ(banklink.InstitutionCreditUnion), routingNumbers("256074974")),
		inst("nfcu2", "Navy Federal Business", 9, routingNumbers("256074974")),
		// A number failing the checksum in a provider's listing is not
		// indexed.
		inst("bad", "Bad Data Bank", 5, routingNumbers("021000022")),
		// Digits in names still match by name.
		inst("d", "1st Source Bank", 6),
		inst("n", "Bank 2100 Savings", 7),
		inst("ca", "Only Canada Bank", 8, regions("CA"), routingNumbers("121000358")),
	})
	usOnly := banklink.Eligibility{AllowRedirect: true, Regions: []banklink.Region{"US"}}
	for _, tc := range []struct {
		name    string
		query   string
		elig    banklink.Eligibility
		want    []string
		routing string
	}{
		{"full number", "021000021", all, []string{"chase"}, RoutingNumber},
		{"second number of the same bank", "322271627", all, []string{"chase"}, RoutingNumber},
		{"spaces and dashes as printed", " 0210-0002 1 ", all, []string{"chase"}, RoutingNumber},
		{"shared number finds both, in rank order", "256074974", all, []string{"nfcu", "nfcu2"}, RoutingNumber},
		{"valid but unknown", "011000015", all, []string{}, RoutingNumber},
		{"checksum failure: last digit", "021000022", all, []string{}, RoutingInvalid},
		{"checksum failure: swapped digits", "012000021", all, []string{}, RoutingInvalid},
		{"checksum failure is not looked up even when listed", "021000022", all, []string{}, RoutingInvalid},
		{"prefix of four digits: routing matches first, then names", "0210", all, []string{"chase", "citi"}, RoutingPrefix},
		{"prefix matching a name's digits too", "2100", all, []string{"n"}, RoutingPrefix},
		{"longer prefix narrows", "02100008", all, []string{"citi"}, RoutingPrefix},
		{"eligibility still filters", "121000358", usOnly, []string{}, RoutingNumber},
		{"three digits are a name search", "021", all, []string{}, RoutingNone},
		{"ten digits are no routing number", "0210000210", all, []string{}, RoutingNone},
		{"letters make it a name", "1st", all, []string{"d"}, RoutingNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := mustSearch(t, ix, Query{Name: tc.query, Eligibility: tc.elig, Limit: 50})
			if got := ids(res.Institutions); !slices.Equal(got, tc.want) {
				t.Errorf("Search(%q) = %v, want %v", tc.query, got, tc.want)
			}
			if res.Routing != tc.routing {
				t.Errorf("Search(%q).Routing = %q, want %q", tc.query, res.Routing, tc.routing)
			}
		})
	}

	// Pagination works over the routing tier like over any other.
	first := mustSearch(t, ix, Query{Name: "256074974", Eligibility: all, Limit: 1})
	if first.Remaining != 1 {
		t.Fatalf("first page = %v, remaining %d", ids(first.Institutions), first.Remaining)
	}
	second := mustSearch(t, ix, Query{Name: "256074974", Eligibility: all, Limit: 1, After: first.Institutions[0].Key})
	if got := ids(second.Institutions); !slices.Equal(got, []string{"nfcu2"}) || second.Remaining != 0 {
		t.Errorf("second page = %v, remaining %d", got, second.Remaining)
	}
}

// TestSandboxRoutingNumbers: every US sandbox institution but the
// brokerages has a valid routing number, none outside the US has one, and
// a search for it finds the institution.
func TestSandboxRoutingNumbers(t *testing.T) {
	dir := benchDir()
	ix := benchIndex()
	checked := 0
	for i, in := range dir {
		us := slices.ContainsFunc(in.Regions, func(r banklink.Region) bool { return r.Country() == "US" })
		// A brokerage may have one (Schwab's bank), the generated ones don't.
		if has := len(in.RoutingNumbers) > 0; has && !us || !has && us && in.Type != banklink.InstitutionBrokerage {
			t.Fatalf("%s (%s, %v) has routing numbers %v", in.Name, in.Type, in.Regions, in.RoutingNumbers)
		}
		for _, rn := range in.RoutingNumbers {
			if !banklink.IsRoutingNumber(rn) {
				t.Fatalf("%s: %q fails the checksum", in.Name, rn)
			}
			if d := rn[:2]; in.Type == banklink.InstitutionCreditUnion && in.IsTest && d < "21" {
				t.Errorf("%s: credit union routing number %s has no thrift prefix", in.Name, rn)
			}
		}
		if len(in.RoutingNumbers) == 0 || i%97 != 0 {
			continue
		}
		res := mustSearch(t, ix, Query{Name: in.RoutingNumbers[0], Eligibility: all, Limit: 50})
		if !slices.ContainsFunc(res.Institutions, func(x *banklink.Institution) bool { return x.ID == in.ID }) {
			t.Errorf("search for %s's routing number %s: %v", in.Name, in.RoutingNumbers[0], ids(res.Institutions))
		}
		checked++
	}
	if checked < 100 {
		t.Errorf("only %d institutions checked", checked)
	}
	chase := mustSearch(t, ix, Query{Name: "021000021", Eligibility: all})
	if len(chase.Institutions) == 0 || chase.Institutions[0].Name != "Chase" {
		t.Errorf("Chase's routing number finds %v", ids(chase.Institutions))
	}
	bank := mustSearch(t, ix, Query{Name: sandboxBankRouting(), Eligibility: all})
	if len(bank.Institutions) == 0 || bank.Institutions[0].ID != sandbox.TestBankID {
		t.Errorf("Sandbox Bank's routing number finds %v", ids(bank.Institutions))
	}
}

func sandboxBankRouting() string {
	for _, in := range sandbox.TestInstitutions() {
		if in.ID == sandbox.TestBankID {
			return in.RoutingNumbers[0]
		}
	}
	return ""
}
