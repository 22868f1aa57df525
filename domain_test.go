package banklink

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseRegion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Region
		ok   bool
	}{
		{"US", "US", true},
		{"us", "US", true},
		{" ca-qc ", "CA-QC", true},
		{"US-NY", "US-NY", true},
		{"US-DC", "US-DC", true},
		{"US-PR", "US-PR", true},
		{"FR-75", "FR-75", true},
		{"GB-ENG", "GB-ENG", true},
		{"USA", "", false},
		{"XX", "", false},
		{"US-ZZ", "", false},
		{"CA-XX", "", false},
		{"FR-", "", false},
		{"FR-ABCD", "", false},
		{"FR-A_B", "", false},
		{"", "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := ParseRegion(tc.in)
			if ok != tc.ok || (ok && got != tc.want) {
				t.Errorf("ParseRegion(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
	if len(countries) != 249 {
		t.Errorf("%d ISO 3166-1 codes, want 249", len(countries))
	}
}

// TestValidateRegionsBound: the region list travels in the connect token,
// so its length is bounded.
func TestValidateRegionsBound(t *testing.T) {
	list := make([]string, 0, MaxRegions+1)
	for c := range countries {
		list = append(list, c)
	}
	for i := 0; len(list) <= MaxRegions; i++ {
		list = append(list, fmt.Sprintf("FR-%02d", i))
	}
	if _, err := ValidateRegions("regions", list[:MaxRegions]); err != nil {
		t.Errorf("%d regions: %v", MaxRegions, err)
	}
	if _, err := ValidateRegions("regions", list); err == nil || !strings.Contains(err.Error(), "at most 250") {
		t.Errorf("%d regions: %v", len(list), err)
	}
}

func TestRegionCovers(t *testing.T) {
	for _, tc := range []struct {
		serves, want Region
		covers       bool
	}{
		{"US", "US", true},
		{"US", "US-NY", true},    // a national bank serves New Yorkers
		{"US-NY", "US", true},    // a customer "in the US" may bank in New York
		{"US-NY", "US-NY", true}, //
		{"US-NY", "US-NJ", false},
		{"CA", "US-NY", false},
		{"CA-QC", "US", false},
	} {
		if got := tc.serves.Covers(tc.want); got != tc.covers {
			t.Errorf("%s covers %s = %v, want %v", tc.serves, tc.want, got, tc.covers)
		}
	}
}

func TestValidateProducts(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
		err  string
	}{
		{"all", []string{"BALANCES", "OWNERS", "IDENTIFIERS", "TRANSACTIONS", "INVESTMENT_HOLDINGS", "INVESTMENT_TRANSACTIONS"}, ""},
		{"empty", nil, ""},
		{"historical", []string{"HISTORICAL_TRANSACTIONS"}, "pass TRANSACTIONS"},
		{"unknown", []string{"LIABILITIES"}, `unknown product "LIABILITIES"`},
		{"duplicate", []string{"OWNERS", "OWNERS"}, "more than once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ValidateProducts("products", tc.in)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || ErrorCode(err) != EBADREQUEST) {
				t.Errorf("err = %v, want %q", err, tc.err)
			}
		})
	}
}

func TestCheckEligibility(t *testing.T) {
	sb := func(redirect bool, ps ...Product) ProviderInstitution {
		return ProviderInstitution{Products: ps, Redirect: redirect}
	}
	bank := &Institution{Regions: []Region{"US"}, Providers: map[string]ProviderInstitution{
		"sandbox": sb(false, Balances, Transactions, HistoricalTransactions),
	}}
	split := &Institution{Regions: []Region{"US-NY"}, Providers: map[string]ProviderInstitution{
		"a": sb(false, Balances),
		"b": sb(false, InvestmentHoldings),
	}}
	oauth := &Institution{Regions: []Region{"CA"}, Providers: map[string]ProviderInstitution{
		"sandbox": sb(true, Balances, Owners),
		"other":   sb(false, Balances),
	}}
	for _, tc := range []struct {
		name string
		in   *Institution
		e    Eligibility
		want Ineligibility
	}{
		{"no filters", bank, Eligibility{AllowRedirect: true}, Ineligibility{}},
		{"all products through one provider", bank, Eligibility{Products: NewProductSet(Balances, Transactions)}, Ineligibility{}},
		{"historical capability", bank, Eligibility{Products: NewProductSet(HistoricalTransactions)}, Ineligibility{}},
		{"missing product", bank, Eligibility{Products: NewProductSet(Balances, Owners)}, Ineligibility{MissingProducts: NewProductSet(Owners)}},
		{"products split across providers do not count", split, Eligibility{Products: NewProductSet(Balances, InvestmentHoldings)}, Ineligibility{MissingProducts: NewProductSet(InvestmentHoldings)}},
		{"country request matches subdivision institution", split, Eligibility{Regions: []Region{"US"}}, Ineligibility{}},
		{"subdivision request matches national institution", bank, Eligibility{Regions: []Region{"US-TX"}}, Ineligibility{}},
		{"any of the regions", bank, Eligibility{Regions: []Region{"CA", "US-CA"}}, Ineligibility{}},
		{"wrong region", split, Eligibility{Regions: []Region{"US-NJ"}}, Ineligibility{Region: true}},
		{"redirect allowed", oauth, Eligibility{Products: NewProductSet(Owners), AllowRedirect: true}, Ineligibility{}},
		{"redirect refused, only OAuth provider has the products", oauth, Eligibility{Products: NewProductSet(Owners)}, Ineligibility{Redirect: true}},
		{"redirect refused, another provider fits", oauth, Eligibility{Products: NewProductSet(Balances)}, Ineligibility{}},
		{"provider not enabled", bank, Eligibility{Providers: map[string]bool{"plaid": true}}, Ineligibility{NoProvider: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.in.CheckEligibility(tc.e); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestAPIKeys(t *testing.T) {
	k, plain := NewAPIKey("acct", Sandbox, "n", "2022-11-10", time.Now())
	env, id, secret, ok := ParseAPIKey(plain)
	if !ok || env != Sandbox || id != k.ID || !k.Matches(secret) || k.Matches(secret[1:]) {
		t.Fatalf("round trip failed: %q", plain)
	}
	k2, plain2 := NewAPIKey("acct", Production, "n", "2022-11-10", time.Now())
	if plain2 == plain || k2.ID == k.ID {
		t.Error("keys repeat")
	}
	for _, bad := range []string{"", "bl_", "bl_sandbox_", "bl_staging_" + k.ID + "_abc", "bl_Sandbox_" + k.ID + "_abc", "bl_sandbox_short_abc", "bl_sandbox_" + k.ID + "_0OIl", "xx_sandbox_" + k.ID + "_abc", plain + "_x"} {
		if _, _, _, ok := ParseAPIKey(bad); ok {
			t.Errorf("ParseAPIKey(%q) accepted", bad)
		}
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if len(id) != IDLength || !IsBase58(id) || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
}

func TestErrorCode(t *testing.T) {
	if ErrorCode(nil) != "" || ErrorCode(errPlain{}) != EINTERNAL || ErrorMessage(errPlain{}) != "Internal error." {
		t.Error("plain errors must be internal")
	}
	wrapped := &Error{Code: ENOTFOUND, Message: "x", Err: errPlain{}}
	if ErrorCode(wrapped) != ENOTFOUND || !strings.Contains(wrapped.Error(), "plain") {
		t.Errorf("wrapped = %v", wrapped)
	}
}

type errPlain struct{}

func (errPlain) Error() string { return "plain" }

func TestCheckWidgetOrigin(t *testing.T) {
	for _, tc := range []struct {
		origin string
		env    Environment
		want   string // "" accepts
	}{
		{"https://app.example.com", Production, ""},
		{"https://app.example.com:8443", Production, ""},
		{"http://app.example.com", Production, "is not https"},
		{"http://localhost:3000", Production, "is not https"},
		{"http://localhost:3000", Sandbox, ""},
		{"https://*.example.com", Production, "has a wildcard"},
		{"https://*.example.com", Sandbox, "has a wildcard"},
		{"http://*:3000", Sandbox, "has a wildcard"},
	} {
		t.Run(string(tc.env)+" "+tc.origin, func(t *testing.T) {
			err := CheckWidgetOrigin(tc.origin, tc.env)
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("CheckWidgetOrigin = %v, want %q", err, tc.want)
			}
		})
	}
}
