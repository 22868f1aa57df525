package sandbox

import (
	"fmt"
	"strings"

	"banklink"
)

// fedDistrict is the Federal Reserve district of each state: the first
// two digits of a routing number (01 Boston … 12 San Francisco). States
// split between districts get the district of their largest city.
var fedDistrict = map[string]int{
	"CT": 1, "ME": 1, "MA": 1, "NH": 1, "RI": 1, "VT": 1,
	"NY": 2, "NJ": 2, "PR": 2,
	"PA": 3, "DE": 3,
	"OH": 4, "KY": 4,
	"VA": 5, "MD": 5, "DC": 5, "NC": 5, "SC": 5, "WV": 5,
	"GA": 6, "FL": 6, "AL": 6, "TN": 6, "LA": 6, "MS": 6,
	"IL": 7, "IN": 7, "IA": 7, "MI": 7, "WI": 7,
	"MO": 8, "AR": 8,
	"MN": 9, "MT": 9, "ND": 9, "SD": 9,
	"KS": 10, "NE": 10, "OK": 10, "CO": 10, "WY": 10, "NM": 10,
	"TX": 11,
	"CA": 12, "OR": 12, "WA": 12, "ID": 12, "NV": 12, "UT": 12, "AZ": 12, "AK": 12, "HI": 12,
}

// routingNumbers gives a sandbox institution serving the US a routing
// number shaped like a real one (brokerages have none): its home state's Federal Reserve
// district (plus 20 for credit unions and thrifts, as theirs are), a
// processing office, then digits drawn from its id, and the check
// digit. Institutions outside the US have none (Canada uses institution
// and transit numbers). The draw is from the id, not from the
// directory's generator, so adding numbers changed no generated name.
func routingNumbers(in *banklink.Institution) []string {
	district := 0
	for _, r := range in.Regions {
		if r.Country() != "US" {
			continue
		}
		if d, ok := fedDistrict[strings.TrimPrefix(string(r), "US-")]; ok {
			district = d
			break
		}
		district = -1 // the whole US: a national bank, any district
	}
	if district == 0 || in.Type == banklink.InstitutionBrokerage {
		// Brokerages hold money at banks rather than clear it themselves.
		return nil
	}
	r := rng("routing-number", in.ID)
	if district < 0 {
		district = 1 + r.IntN(12)
	}
	if in.Type == banklink.InstitutionCreditUnion {
		district += 20
	}
	prefix := fmt.Sprintf("%02d%d", district, r.IntN(5)) + digits(r, 5)
	return []string{prefix + string(banklink.RoutingCheckDigit(prefix))}
}
