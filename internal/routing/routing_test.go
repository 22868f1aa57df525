package routing

import (
	"errors"
	"slices"
	"testing"

	"banklink"
)

func inst(providers map[string]banklink.ProviderInstitution) *banklink.Institution {
	return &banklink.Institution{ID: "inst1", Name: "First Bank", Providers: providers}
}

var (
	all     = []banklink.Product{banklink.Balances, banklink.Transactions, banklink.InvestmentHoldings}
	noInv   = []banklink.Product{banklink.Balances, banklink.Transactions}
	txOnly  = banklink.NewProductSet(banklink.Transactions)
	holding = banklink.NewProductSet(banklink.InvestmentHoldings)
)

func TestDecide(t *testing.T) {
	both := inst(map[string]banklink.ProviderInstitution{"a": {Products: all}, "b": {Products: all}})
	bOnlyInv := inst(map[string]banklink.ProviderInstitution{"a": {Products: noInv}, "b": {Products: all}})
	aRedirect := inst(map[string]banklink.ProviderInstitution{"a": {Products: all, Redirect: true}, "b": {Products: all}})
	aDown := inst(map[string]banklink.ProviderInstitution{"a": {Products: all, Health: banklink.HealthDown}, "b": {Products: all}})
	onlyA := inst(map[string]banklink.ProviderInstitution{"a": {Products: all, Health: banklink.HealthDown}})
	failingA := func(p, _ string) (bool, string) { return p == "a", "3 failures in 15m" }
	failingAll := func(p, _ string) (bool, string) { return true, "" }
	for _, tt := range []struct {
		name        string
		req         Request
		want        string
		wantReason  string
		wantSkipped []string
		wantErr     bool
	}{
		{"waterfall picks the first", Request{Institution: both, Products: txOnly, Enabled: []string{"a", "b"}}, "a", banklink.RouteWaterfall, nil, false},
		{"order matters", Request{Institution: both, Products: txOnly, Enabled: []string{"b", "a"}}, "b", banklink.RouteWaterfall, nil, false},
		{"products decide", Request{Institution: bOnlyInv, Products: holding, Enabled: []string{"a", "b"}}, "b", banklink.RouteWaterfall, []string{"a:" + banklink.SkipProducts}, false},
		{"redirect preference", Request{Institution: aRedirect, Products: txOnly, Enabled: []string{"a", "b"}}, "b", banklink.RouteWaterfall, []string{"a:" + banklink.SkipRedirect}, false},
		{"redirect allowed", Request{Institution: aRedirect, Products: txOnly, AllowRedirect: true, Enabled: []string{"a", "b"}}, "a", banklink.RouteWaterfall, nil, false},
		{"not enabled", Request{Institution: both, Products: txOnly, Enabled: []string{"b"}}, "b", banklink.RouteWaterfall, nil, false},
		{"institution down at a", Request{Institution: aDown, Products: txOnly, Enabled: []string{"a", "b"}}, "b", banklink.RouteWaterfall, []string{"a:" + banklink.SkipDown}, false},
		{"recent failures fail over", Request{Institution: both, Products: txOnly, Enabled: []string{"a", "b"}, Health: failingA}, "b", banklink.RouteWaterfall, []string{"a:" + banklink.SkipUnhealthy + ": 3 failures in 15m"}, false},
		{"all failing: try the first", Request{Institution: both, Products: txOnly, Enabled: []string{"a", "b"}, Health: failingAll}, "a", banklink.RouteDegraded, []string{"b:" + banklink.SkipUnhealthy}, false},
		{"only provider down: still tried", Request{Institution: onlyA, Products: txOnly, Enabled: []string{"a", "b"}}, "a", banklink.RouteDegraded, []string{"b:" + banklink.SkipNoCoverage}, false},
		{"nobody covers", Request{Institution: bOnlyInv, Products: holding, Enabled: []string{"a"}}, "", "", []string{"a:" + banklink.SkipProducts}, true},
		{"explicit provider", Request{Institution: both, Products: txOnly, Enabled: []string{"a", "b"}, Explicit: "b"}, "b", banklink.RouteExplicit, nil, false},
		{"explicit provider cannot serve: no failover", Request{Institution: bOnlyInv, Products: holding, Enabled: []string{"a", "b"}, Explicit: "a"}, "", "", []string{"a:" + banklink.SkipProducts}, true},
		{"explicit provider not enabled", Request{Institution: both, Products: txOnly, Enabled: []string{"a"}, Explicit: "b"}, "", "", []string{"b:" + banklink.SkipDisabled}, true},
		{"explicit beats health", Request{Institution: both, Products: txOnly, Enabled: []string{"a", "b"}, Explicit: "a", Health: failingA}, "a", banklink.RouteExplicit, nil, false},
		{"rule forces", Request{Institution: both, Products: txOnly, Enabled: []string{"a", "b"},
			Profile: &Profile{ID: "p1", Rules: []Rule{{InstitutionID: "inst1", Provider: "b", Action: Force}}}}, "b", banklink.RouteForced, nil, false},
		{"rule for another institution", Request{Institution: both, Products: txOnly, Enabled: []string{"a", "b"},
			Profile: &Profile{ID: "p1", Rules: []Rule{{InstitutionID: "other", Provider: "b", Action: Force}}}}, "a", banklink.RouteWaterfall, nil, false},
		{"rule excludes", Request{Institution: both, Products: txOnly, Enabled: []string{"a", "b"},
			Profile: &Profile{ID: "p1", Rules: []Rule{{InstitutionID: "inst1", Provider: "a", Action: Exclude}}}}, "b", banklink.RouteWaterfall, []string{"a:" + banklink.SkipExcluded}, false},
		{"forced provider that cannot serve falls back", Request{Institution: bOnlyInv, Products: holding, Enabled: []string{"a", "b"},
			Profile: &Profile{ID: "p1", Rules: []Rule{{InstitutionID: "inst1", Provider: "a", Action: Force}}}}, "b", banklink.RouteWaterfall, []string{"a:" + banklink.RouteForced + ": " + banklink.SkipProducts}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Decide(tt.req)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				if e, ok := errors.AsType[*banklink.Error](err); !ok || e.Reason != ErrNoProvider {
					t.Errorf("error = %#v", err)
				}
			}
			if d.Provider != tt.want || d.Reason != tt.wantReason {
				t.Errorf("decision = %s (%s), want %s (%s)", d.Provider, d.Reason, tt.want, tt.wantReason)
			}
			var skipped []string
			for _, s := range d.Skipped {
				skipped = append(skipped, s.Provider+":"+s.Reason)
			}
			if !slices.Equal(skipped, tt.wantSkipped) {
				t.Errorf("skipped = %q, want %q", skipped, tt.wantSkipped)
			}
			if tt.req.Profile != nil && d.Profile != tt.req.Profile.ID {
				t.Errorf("profile = %q", d.Profile)
			}
		})
	}
}
