package banklink

import (
	"strings"
)

// Region is an ISO 3166-1 alpha-2 country code ("US") or an ISO 3166-2
// subdivision code ("US-NY"), always upper case.
type Region string

// Country returns the country part of r.
func (r Region) Country() string {
	c, _, _ := strings.Cut(string(r), "-")
	return c
}

// IsSubdivision reports whether r names a subdivision rather than a country.
func (r Region) IsSubdivision() bool { return strings.Contains(string(r), "-") }

// Covers reports whether an institution serving r serves a customer who
// banks in want. A whole country covers its subdivisions, and a request
// for a whole country is covered by any institution inside it: a customer
// "in the US" may bank with a New York credit union.
func (r Region) Covers(want Region) bool {
	if r == want {
		return true
	}
	if r.Country() != want.Country() {
		return false
	}
	return !r.IsSubdivision() || !want.IsSubdivision()
}

// countries is ISO 3166-1 alpha-2, officially assigned codes.
var countries = setOf(`AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT
MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG
UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW`)

// subdivisions holds the complete ISO 3166-2 lists for the countries whose
// institutions banklink's directory covers in depth; for other countries a
// subdivision code is checked for shape only (see ParseRegion).
var subdivisions = map[string]map[string]bool{
	"US": setOf(`AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND
OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC AS GU MP PR UM VI`),
	"CA": setOf(`AB BC MB NB NL NS NT NU ON PE QC SK YT`),
}

// USStates and CAProvinces list the subdivision codes (without country
// prefix) the sandbox directory spreads its institutions across.
var (
	USStates    = strings.Fields(`AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC`)
	CAProvinces = strings.Fields(`AB BC MB NB NL NS NT NU ON PE QC SK YT`)
)

func setOf(s string) map[string]bool {
	m := map[string]bool{}
	for _, f := range strings.Fields(s) {
		m[f] = true
	}
	return m
}

// ParseRegion validates and canonicalises one region code. Codes are
// accepted in any case. Subdivisions of the US and Canada are checked
// against the full ISO 3166-2 list; elsewhere a subdivision must be a known
// country followed by one to three letters or digits.
func ParseRegion(s string) (Region, bool) {
	u := strings.ToUpper(strings.TrimSpace(s))
	country, sub, hasSub := strings.Cut(u, "-")
	if !countries[country] {
		return "", false
	}
	if !hasSub {
		return Region(u), true
	}
	if list, ok := subdivisions[country]; ok {
		return Region(u), list[sub]
	}
	if len(sub) < 1 || len(sub) > 3 {
		return "", false
	}
	for i := 0; i < len(sub); i++ {
		c := sub[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return "", false
		}
	}
	return Region(u), true
}

// MaxRegions bounds a request's region list: more than there are
// countries. The regions travel in the connect token, whose size must
// stay bounded (connecttoken.MaxLength).
const MaxRegions = 250

// ValidateRegions checks a request's region list: valid codes, no
// duplicates once canonicalised, at most MaxRegions.
func ValidateRegions(field string, list []string) ([]Region, error) {
	if len(list) > MaxRegions {
		return nil, FieldErrorf(field, "lists %d regions; at most %d are allowed", len(list), MaxRegions)
	}
	out := make([]Region, 0, len(list))
	seen := map[Region]bool{}
	for _, s := range list {
		r, ok := ParseRegion(s)
		if !ok {
			return nil, FieldErrorf(field, "contains unsupported region %q; use an ISO 3166-1 alpha-2 country code such as \"US\" or an ISO 3166-2 subdivision code such as \"US-NY\"", s)
		}
		if seen[r] {
			return nil, FieldErrorf(field, "lists %s more than once", r)
		}
		seen[r] = true
		out = append(out, r)
	}
	return out, nil
}
