package sandbox

import (
	"crypto/sha256"
	"slices"
	"strconv"

	"banklink"
)

// wellKnown are large real-world institutions, so the names people type
// first ("Chase", "Fidelity" — the seed request's own search string —
// "RBC") find something in the sandbox. Their data is sandbox data like any
// other sandbox institution's.
var wellKnown = []struct {
	name, typ, domain string
	aliases           []string
	regions           []banklink.Region
	products          string // letters: B balances, O owners, I identifiers, T transactions, H historical, h holdings, t investment transactions
	oauth             bool
}{
	{"Chase", banklink.InstitutionBank, "chase.com", []string{"JPMorgan Chase Bank"}, us, "BOITHht", true},
	{"Bank of America", banklink.InstitutionBank, "bankofamerica.com", []string{"BofA", "Merrill"}, us, "BOITHht", true},
	{"Wells Fargo", banklink.InstitutionBank, "wellsfargo.com", nil, us, "BOITHht", true},
	{"Citibank", banklink.InstitutionBank, "citi.com", []string{"Citi"}, us, "BOITH", true},
	{"Capital One", banklink.InstitutionBank, "capitalone.com", nil, us, "BOITH", true},
	{"U.S. Bank", banklink.InstitutionBank, "usbank.com", []string{"US Bank"}, us, "BOITH", false},
	{"PNC Bank", banklink.InstitutionBank, "pnc.com", nil, us, "BOIT", false},
	{"Truist", banklink.InstitutionBank, "truist.com", []string{"SunTrust", "BB&T"}, us, "BOIT", false},
	{"TD Bank", banklink.InstitutionBank, "td.com", []string{"TD"}, us, "BOITH", false},
	{"Ally Bank", banklink.InstitutionBank, "ally.com", []string{"Ally Invest"}, us, "BOITHht", false},
	{"American Express", banklink.InstitutionOther, "americanexpress.com", []string{"Amex"}, us, "BOTH", true},
	{"Discover", banklink.InstitutionBank, "discover.com", nil, us, "BOIT", false},
	{"Navy Federal Credit Union", banklink.InstitutionCreditUnion, "navyfederal.org", []string{"NFCU"}, us, "BOITH", false},
	{"USAA", banklink.InstitutionBank, "usaa.com", nil, us, "BOITHht", false},
	{"Fidelity Investments", banklink.InstitutionBrokerage, "fidelity.com", []string{"Fidelity", "NetBenefits"}, us, "BOITHht", true},
	{"Charles Schwab", banklink.InstitutionBrokerage, "schwab.com", []string{"Schwab"}, us, "BOITHht", true},
	{"Vanguard", banklink.InstitutionBrokerage, "vanguard.com", nil, us, "BOht", false},
	{"E*TRADE", banklink.InstitutionBrokerage, "etrade.com", []string{"E-Trade", "Morgan Stanley"}, us, "BOht", false},
	{"Robinhood", banklink.InstitutionBrokerage, "robinhood.com", nil, us, "BOITht", false},
	{"SoFi", banklink.InstitutionBank, "sofi.com", nil, us, "BOITHht", false},
	{"RBC Royal Bank", banklink.InstitutionBank, "rbcroyalbank.com", []string{"Royal Bank of Canada", "RBC"}, ca, "BOITHht", true},
	{"TD Canada Trust", banklink.InstitutionBank, "td.com", []string{"TD"}, ca, "BOITHht", false},
	{"Scotiabank", banklink.InstitutionBank, "scotiabank.com", []string{"Bank of Nova Scotia"}, ca, "BOITH", false},
	{"BMO", banklink.InstitutionBank, "bmo.com", []string{"Bank of Montreal"}, ca, "BOITHht", false},
	{"CIBC", banklink.InstitutionBank, "cibc.com", []string{"Canadian Imperial Bank of Commerce"}, ca, "BOITH", false},
	{"Desjardins", banklink.InstitutionCreditUnion, "desjardins.com", []string{"Caisse Desjardins", "Mouvement Desjardins"}, []banklink.Region{"CA-QC", "CA-ON"}, "BOITHht", false},
	{"Banque Nationale", banklink.InstitutionBank, "nbc.ca", []string{"National Bank of Canada"}, ca, "BOITH", false},
	{"Tangerine", banklink.InstitutionBank, "tangerine.ca", nil, ca, "BOIT", false},
	{"Wealthsimple", banklink.InstitutionBrokerage, "wealthsimple.com", nil, ca, "BOht", false},
	{"Questrade", banklink.InstitutionBrokerage, "questrade.com", nil, ca, "Bht", false},
}

// wellKnownRouting are published ABA routing numbers of the well-known
// US banks (a bank has several, by state and purpose; one or two each
// here), so a customer searching the sandbox by the number on a real
// cheque finds the bank. Brokerages and Canadian banks have none.
var wellKnownRouting = map[string][]string{
	"Chase": {"021000021"}, "Bank of America": {"026009593", "121000358"}, "Wells Fargo": {"121000248"},
	"Citibank": {"021000089"}, "Capital One": {"051405515", "065000090"}, "U.S. Bank": {"091000022"},
	"PNC Bank": {"043000096"}, "Truist": {"061000104"}, "TD Bank": {"031101266"}, "Ally Bank": {"124003116"},
	"American Express": {"124085244"}, "Discover": {"031100649"}, "Navy Federal Credit Union": {"256074974"},
	"USAA": {"314074269"}, "Charles Schwab": {"121202211"}, "SoFi": {"031101334"},
}

var (
	us = []banklink.Region{"US"}
	ca = []banklink.Region{"CA"}
)

var productLetters = map[rune]banklink.Product{
	'B': banklink.Balances, 'O': banklink.Owners, 'I': banklink.Identifiers, 'T': banklink.Transactions,
	'H': banklink.HistoricalTransactions, 'h': banklink.InvestmentHoldings, 't': banklink.InvestmentTransactions,
}

// WellKnown returns the well-known institutions, ranked from 7 (right after
// the test institutions). Their ids derive from their names, so they are
// stable whatever the directory seed.
func WellKnown() []*banklink.Institution {
	out := make([]*banklink.Institution, len(wellKnown))
	for i, w := range wellKnown {
		sum := sha256.Sum256([]byte("banklink-sandbox-wellknown\x00" + w.name))
		var products []banklink.Product
		for _, r := range w.products {
			products = append(products, productLetters[r])
		}
		out[i] = &banklink.Institution{
			ID:      banklink.EncodeBase58(sum[:16], banklink.IDLength),
			Key:     banklink.EncodeBase58(sum[16:24], 11),
			Name:    w.name,
			Aliases: slices.Clone(w.aliases),
			Domain:  w.domain,
			Type:    w.typ,
			Rank:    len(TestInstitutions()) + 1 + i,
			Regions: slices.Clone(w.regions),
			// Clipped, so that callers appending to one institution's
			// list never write into the shared table.
			RoutingNumbers: slices.Clip(wellKnownRouting[w.name]),
			Providers: map[string]banklink.ProviderInstitution{ProviderType: {
				ProviderInstitutionID: "sbx_wk_" + strconv.Itoa(i+1),
				Products:              products,
				Redirect:              w.oauth,
				// Like the real banks' own OAuth pages, theirs refuse to
				// be framed (the sandbox authorize page with frames=deny).
				NoFrame: w.oauth,
				Health:  banklink.HealthHealthy,
			}},
		}
	}
	return out
}
