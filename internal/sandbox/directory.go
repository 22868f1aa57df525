// Package sandbox is banklink's built-in provider for development and
// testing: a directory of realistic, generated institutions plus a handful
// of named test institutions with stable ids that docs and tests refer to.
package sandbox

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"banklink"
)

// ProviderType is the provider type name of the built-in sandbox provider.
const ProviderType = "sandbox"

// ProviderTypeB is a second built-in sandbox aggregator, so routing and
// failover are real: it covers a different set of institutions (about a
// third of them, never brokerages or OAuth banks, and Sandbox Down Bank,
// where it is healthy), supports no investment products, and never asks
// for MFA.
const ProviderTypeB = "sandbox-b"

// coverB adds sandbox-b's coverage of in, derived from the sandbox's.
func coverB(in *banklink.Institution, providerInstitutionID string) {
	a := in.Providers[ProviderType]
	if in.Type == banklink.InstitutionBrokerage || a.Redirect {
		return
	}
	var products []banklink.Product
	for _, p := range a.Products {
		if p != banklink.InvestmentHoldings && p != banklink.InvestmentTransactions {
			products = append(products, p)
		}
	}
	in.Providers[ProviderTypeB] = banklink.ProviderInstitution{ProviderInstitutionID: providerInstitutionID, Products: products, Health: banklink.HealthHealthy}
}

// DefaultDirectorySize is how many institutions Directory generates by
// default: about the size of a real aggregator's directory, so search and
// picker performance is measured at realistic scale.
const DefaultDirectorySize = 20000

// DefaultSeed is the seed of the default sandbox directory. Generated ids
// depend on it, so changing it changes every generated institution id.
const DefaultSeed = 20261124

// Ids of the named sandbox test institutions. They are hard-coded (not
// derived from a seed) because docs and tests name them.
const (
	TestBankID        = "Vc1FabzHnWE7LZuwXhuC6d"
	TestCreditUnionID = "XBCMefTExZZ24oWtqxVeQk"
	TestBrokerageID   = "YMatH4GpPi6e8g67SFUCEu"
	TestOAuthBankID   = "J49BHiNGdxpGXvJ2oeN9NM"
	TestDownBankID    = "LpwsBfHM93DUGVeErXrSpT"
	TestQuebecBankID  = "HL5MwWnmRVjK71NtgB2dFJ"
)

// TestInstitutions returns the named sandbox test institutions, ranked 1 to
// 6 so they head the picker. Each call returns fresh values the caller may
// modify.
func TestInstitutions() []*banklink.Institution {
	all := banklink.Capabilities
	usca := []banklink.Region{"US", "CA"}
	type def struct {
		id, key, name, typ string
		products           []banklink.Product
		regions            []banklink.Region
		redirect           bool
		health             string
		aliases            []string
	}
	defs := []def{
		{id: TestBankID, key: "KHQiNvLSWCf", name: "Sandbox Bank", typ: banklink.InstitutionBank, products: all, regions: usca},
		{id: TestCreditUnionID, key: "9CdCkig5jCc", name: "Sandbox Credit Union", typ: banklink.InstitutionCreditUnion,
			products: []banklink.Product{banklink.Balances, banklink.Owners, banklink.Identifiers, banklink.Transactions},
			regions:  []banklink.Region{"US"}},
		{id: TestBrokerageID, key: "Hjz4WeysA1X", name: "Sandbox Brokerage", typ: banklink.InstitutionBrokerage,
			products: []banklink.Product{banklink.Balances, banklink.Owners, banklink.InvestmentHoldings, banklink.InvestmentTransactions},
			regions:  usca, aliases: []string{"Sandbox Investments"}},
		{id: TestOAuthBankID, key: "FWqJnYbgtBL", name: "Sandbox OAuth Bank", typ: banklink.InstitutionBank, products: all, regions: usca, redirect: true},
		{id: TestDownBankID, key: "gqaoivvhjsm", name: "Sandbox Down Bank", typ: banklink.InstitutionBank, products: all, regions: usca, health: banklink.HealthDown},
		{id: TestQuebecBankID, key: "DvMiuu63wgA", name: "Banque Sandbox du Québec", typ: banklink.InstitutionBank, products: all,
			regions: []banklink.Region{"CA-QC"}, aliases: []string{"Sandbox Quebec"}},
	}
	out := make([]*banklink.Institution, len(defs))
	for i, d := range defs {
		health := d.health
		if health == "" {
			health = banklink.HealthHealthy
		}
		out[i] = &banklink.Institution{
			ID:      d.id,
			Key:     d.key,
			Name:    d.name,
			Aliases: slices.Clone(d.aliases),
			Domain:  dirSlug(d.name, 40) + ".example",
			Type:    d.typ,
			IsTest:  true,
			Rank:    i + 1,
			Regions: slices.Clone(d.regions),
			Providers: map[string]banklink.ProviderInstitution{ProviderType: {
				ProviderInstitutionID: "sbx_test_" + strconv.Itoa(i+1),
				Products:              slices.Clone(d.products),
				Redirect:              d.redirect,
				Health:                health,
			}},
		}
		out[i].RoutingNumbers = routingNumbers(out[i])
		switch d.id {
		case TestBankID, TestCreditUnionID, TestDownBankID:
			coverB(out[i], "sbb_test_"+strconv.Itoa(i+1))
		}
	}
	return out
}

// Directory returns TestInstitutions() and WellKnown() followed by n
// generated institutions ranked after them. The result is a pure function of seed and n, and a
// generated institution's id and key depend only on seed and its position,
// so they survive restarts and re-imports.
func Directory(seed uint64, n int) []*banklink.Institution {
	n = max(n, 0)
	g := &dirGen{
		r:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		names: make(map[string]bool, n+8),
	}
	tests := append(TestInstitutions(), WellKnown()...)
	for _, in := range tests {
		g.names[in.Name] = true
	}
	gen := make([]dirDraft, n)
	for i := range gen {
		gen[i] = g.draft()
	}
	// Rank follows size, so national institutions come first; the sort is
	// stable and sizes are random floats, so the order is deterministic.
	slices.SortStableFunc(gen, func(a, b dirDraft) int {
		switch {
		case a.size > b.size:
			return -1
		case a.size < b.size:
			return 1
		}
		return 0
	})
	out := make([]*banklink.Institution, 0, len(tests)+n)
	out = append(out, tests...)
	for i, d := range gen {
		in := d.inst
		in.ID, in.Key = dirIDs(seed, i)
		in.Rank = len(tests) + 1 + i
		p := in.Providers[ProviderType]
		p.ProviderInstitutionID = "sbx_" + strconv.Itoa(i+1)
		in.Providers[ProviderType] = p
		in.RoutingNumbers = routingNumbers(in)
		if i%3 == 0 {
			coverB(in, "sbb_"+strconv.Itoa(i+1))
		}
		out = append(out, in)
	}
	return out
}

// dirIDs derives a generated institution's id and key from a hash of the
// seed and its position, so they are stable and spread over the whole
// base58 space like minted ids.
func dirIDs(seed uint64, i int) (id, key string) {
	var buf [40]byte
	n := copy(buf[:], "banklink/sandbox/directory/")
	binary.BigEndian.PutUint64(buf[n:], seed)
	binary.BigEndian.PutUint32(buf[n+8:], uint32(i))
	h := sha256.Sum256(buf[:n+12])
	return banklink.EncodeBase58(h[:16], banklink.IDLength), banklink.EncodeBase58(h[16:24], 11)
}

type dirScope int

const (
	dirLocal dirScope = iota
	dirRegional
	dirNational
)

// dirRedirectOdds are the chances that an institution logs in by redirect
// (OAuth), by scope: mostly the large banks have OAuth agreements.
var dirRedirectOdds = [...]float64{dirLocal: 0.04, dirRegional: 0.2, dirNational: 0.7}

type dirTown struct {
	name string
	sub  string // subdivision code without the country prefix
}

type dirDraft struct {
	inst *banklink.Institution
	size float64
}

type dirGen struct {
	r     *rand.Rand
	names map[string]bool
}

// dirTowns parses the town lists once.
var dirTowns = sync.OnceValues(func() (us []dirTown, ca map[string][]dirTown) {
	parse := func(s string) dirTown {
		name, sub, _ := strings.Cut(s, "|")
		return dirTown{name, sub}
	}
	for _, s := range dirUSTowns {
		us = append(us, parse(s))
	}
	ca = map[string][]dirTown{}
	for _, s := range dirCATowns {
		t := parse(s)
		ca[t.sub] = append(ca[t.sub], t)
	}
	return us, ca
})

func (g *dirGen) pct(p float64) bool { return g.r.Float64() < p }

func pick[T any](g *dirGen, list []T) T { return list[g.r.IntN(len(list))] }

func (g *dirGen) usState() string {
	// Populous states are listed again in dirBigUSStates, so picking from
	// the union weights them about four times as heavily.
	if k := g.r.IntN(len(banklink.USStates) + 3*len(dirBigUSStates)); k < len(banklink.USStates) {
		return banklink.USStates[k]
	}
	return pick(g, dirBigUSStates)
}

func (g *dirGen) caProvince() string {
	total := 0
	for _, p := range banklink.CAProvinces {
		total += dirCAProvinceWeights[p]
	}
	k := g.r.IntN(total)
	for _, p := range banklink.CAProvinces {
		if k -= dirCAProvinceWeights[p]; k < 0 {
			return p
		}
	}
	return "ON"
}

func (g *dirGen) town(ca bool) dirTown {
	us, cat := dirTowns()
	if !ca {
		if g.pct(0.4) {
			return pick(g, us)
		}
		return dirTown{pick(g, dirTownPrefixes) + pick(g, dirTownSuffixes), g.usState()}
	}
	prov := g.caProvince()
	if real := cat[prov]; len(real) > 0 && g.pct(0.5) {
		return pick(g, real)
	}
	if prov == "QC" || prov == "NB" && g.pct(0.4) {
		return dirTown{pick(g, dirQCSaints) + pick(g, dirQCPlaces), prov}
	}
	return dirTown{pick(g, dirTownPrefixes) + pick(g, dirTownSuffixes), prov}
}

// draft generates one institution without id, key and rank.
func (g *dirGen) draft() dirDraft {
	ca := g.pct(0.15)
	country := "US"
	if ca {
		country = "CA"
	}
	var typ string
	switch k := g.r.IntN(100); {
	case k < 55:
		typ = banklink.InstitutionBank
	case k < 85:
		typ = banklink.InstitutionCreditUnion
	case k < 97:
		typ = banklink.InstitutionBrokerage
	default:
		typ = banklink.InstitutionOther
	}
	scope := dirLocal
	switch p := g.r.Float64(); {
	case p < 0.02:
		scope = dirNational
	case p < 0.27:
		scope = dirRegional
	}

	var town dirTown
	var name string
	var aliases []string
	for attempt := 0; ; attempt++ {
		town = g.town(ca)
		name, aliases = g.name(ca, typ, scope, town)
		if !g.names[name] {
			break
		}
		if attempt == 8 {
			// Vanishingly rare with these word lists; a location suffix
			// keeps names unique (and realistic) when it happens.
			name += ", " + town.sub
			for k := 2; g.names[name]; k++ {
				name = fmt.Sprintf("%s, %s %d", strings.TrimSuffix(name, ", "+town.sub), town.sub, k)
			}
			break
		}
	}
	g.names[name] = true

	in := &banklink.Institution{Name: name, Aliases: aliases, Type: typ}
	var size float64
	switch scope {
	case dirNational:
		in.Regions = []banklink.Region{banklink.Region(country)}
		size = 1000 * (1 + g.r.Float64())
	case dirRegional:
		in.Regions = g.regions(ca, town.sub, 1+g.r.IntN(2))
		size = 40 * math.Exp(g.r.NormFloat64())
	default:
		extra := 0
		if g.pct(0.12) {
			extra = 1
		}
		in.Regions = g.regions(ca, town.sub, extra)
		size = 4 * math.Exp(1.2*g.r.NormFloat64())
	}
	if scope != dirNational && g.pct(0.2) {
		in.SubName = town.name + ", " + town.sub
	}
	slugFrom := name
	if len(aliases) > 0 && len(aliases[0]) < len(name) {
		slugFrom = aliases[0]
	}
	tld := ".com"
	switch {
	case ca:
		tld = ".ca"
	case typ == banklink.InstitutionCreditUnion:
		tld = ".org"
	}
	in.Domain = dirSlug(slugFrom, 30) + tld

	health := banklink.HealthHealthy
	switch h := g.r.Float64(); {
	case h < 0.005:
		health = banklink.HealthDown
	case h < 0.025:
		health = banklink.HealthDegraded
	}
	in.Providers = map[string]banklink.ProviderInstitution{ProviderType: {
		Products: g.products(typ),
		Redirect: g.pct(dirRedirectOdds[scope]),
		Health:   health,
	}}
	return dirDraft{inst: in, size: size}
}

// regions returns the home subdivision plus extra distinct others.
func (g *dirGen) regions(ca bool, home string, extra int) []banklink.Region {
	country := "US"
	if ca {
		country = "CA"
	}
	subs := []string{home}
	for len(subs) < 1+extra {
		var s string
		if ca {
			s = g.caProvince()
		} else {
			s = g.usState()
		}
		if !slices.Contains(subs, s) {
			subs = append(subs, s)
		}
	}
	slices.Sort(subs)
	out := make([]banklink.Region, len(subs))
	for i, s := range subs {
		out[i] = banklink.Region(country + "-" + s)
	}
	return out
}

// dirProductOdds are the chances that an institution of a type supports
// each product, in banklink.Products order.
var dirProductOdds = map[string][6]float64{
	//                                 BAL   OWN   IDENT TX    INVH  INVT
	banklink.InstitutionBank:        {0.98, 0.55, 0.85, 0.92, 0.06, 0.05},
	banklink.InstitutionCreditUnion: {0.98, 0.50, 0.85, 0.93, 0.02, 0.02},
	banklink.InstitutionBrokerage:   {0.97, 0.60, 0.25, 0.45, 0.96, 0.88},
	banklink.InstitutionOther:       {0.95, 0.40, 0.60, 0.80, 0.05, 0.03},
}

func (g *dirGen) products(typ string) []banklink.Product {
	odds := dirProductOdds[typ]
	var out []banklink.Product
	for i, p := range banklink.Products {
		if g.pct(odds[i]) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		out = append(out, banklink.Balances)
	}
	if slices.Contains(out, banklink.Transactions) && g.pct(0.4) {
		out = append(out, banklink.HistoricalTransactions)
	}
	return out
}

// name draws a name and aliases for an institution of the given kind.
func (g *dirGen) name(ca bool, typ string, scope dirScope, t dirTown) (string, []string) {
	if ca {
		if t.sub == "QC" || t.sub == "NB" && strings.HasPrefix(t.name, "Saint") || t.sub == "NB" && g.pct(0.2) {
			return g.frenchName(typ, scope, t)
		}
		return g.canadianName(typ, scope, t)
	}
	return g.usName(typ, scope, t)
}

func (g *dirGen) usName(typ string, scope dirScope, t dirTown) (string, []string) {
	T, S, Q, R := t.name, pick(g, dirSurnames), pick(g, dirQualifiers), pick(g, dirRegions)
	if Q == "Peoples" && g.pct(0.5) {
		Q = "People's"
	}
	S2 := pick(g, dirSurnames)
	state := dirUSStateNames[t.sub]
	switch typ {
	case banklink.InstitutionBank:
		switch scope {
		case dirNational:
			switch g.r.IntN(5) {
			case 0:
				return Q + " National Bank", nil
			case 1:
				return Q + " " + pick(g, dirQualifiers) + " Bank", nil
			case 2:
				return S + " National Bank", nil
			case 3:
				return "First " + Q + " Bank", nil
			default:
				return Q + " Bank", nil
			}
		case dirRegional:
			switch g.r.IntN(8) {
			case 0:
				return R + " Community Bank", nil
			case 1:
				return R + " National Bank", nil
			case 2:
				return "Bank of the " + R, nil
			case 3:
				return R + " Bank & Trust", []string{R + " B&T"}
			case 4, 5:
				return Q + " Bank of " + state, nil
			default:
				return S + " Bank of " + state, nil
			}
		}
		switch g.r.IntN(16) {
		case 0:
			return "First National Bank of " + T, []string{"FNB " + T}
		case 1:
			return T + " State Bank", nil
		case 2:
			return S + " Savings Bank", nil
		case 3:
			return T + " Community Bank", nil
		case 4:
			return "Bank of " + T, nil
		case 5:
			return T + " National Bank", nil
		case 6:
			return T + " Savings & Loan", []string{T + " S&L"}
		case 7:
			return "First State Bank of " + T, nil
		case 8:
			return S + " Bank & Trust", nil
		case 9:
			return Q + " Bank of " + T, nil
		case 10:
			return "Farmers & Merchants Bank of " + T, []string{"F&M Bank " + T}
		case 11:
			return T + " Trust Company", nil
		case 12:
			return Q + " State Bank of " + T, nil
		case 13:
			return T + " Savings Bank", nil
		case 14:
			return T + " Bank & Trust", nil
		default:
			return Q + " Bank", nil
		}
	case banklink.InstitutionCreditUnion:
		E := pick(g, dirEmployers)
		switch scope {
		case dirNational:
			switch g.r.IntN(3) {
			case 0:
				return E + " Federal Credit Union", []string{E + " FCU"}
			case 1:
				return Q + " Federal Credit Union", []string{Q + " FCU"}
			default:
				return Q + " " + E + " Credit Union", dirInitials(Q + " " + E + " Credit Union")
			}
		case dirRegional:
			switch g.r.IntN(5) {
			case 0:
				return R + " Federal Credit Union", []string{R + " FCU"}
			case 1:
				return R + " Credit Union", nil
			case 2:
				return T + " Area Federal Credit Union", []string{T + " Area FCU"}
			default:
				return state + " " + E + " Credit Union", dirInitials(state + " " + E + " Credit Union")
			}
		}
		switch g.r.IntN(6) {
		case 0, 1:
			return T + " Federal Credit Union", []string{T + " FCU"}
		case 2:
			return T + " Community Credit Union", []string{T + " CCU"}
		case 3:
			return T + " " + E + " Federal Credit Union", []string{T + " " + E + " FCU"}
		case 4:
			return E + " Employees Credit Union of " + T, nil
		default:
			return T + " Credit Union", nil
		}
	case banklink.InstitutionBrokerage:
		if scope == dirNational {
			switch g.r.IntN(4) {
			case 0:
				return S + " & " + S2 + " Investments", nil
			case 1:
				return S + " Securities", nil
			case 2:
				return Q + " Investments", nil
			default:
				return S + " Brokerage", nil
			}
		}
		switch g.r.IntN(8) {
		case 0, 1:
			return S + " & " + S2 + " Investments", nil
		case 2:
			return S + " Securities", nil
		case 3:
			return S + " Capital Management", nil
		case 4:
			return S + " Wealth Management", nil
		case 5:
			return T + " Investment Group", nil
		case 6:
			return S + ", " + S2 + " & Co.", nil
		default:
			return S + " Financial Advisors", nil
		}
	}
	switch g.r.IntN(4) {
	case 0:
		return pick(g, dirFintechWords) + " " + pick(g, dirFintechNouns), nil
	case 1:
		return S + " Financial Services", nil
	case 2:
		return T + " Mortgage Company", nil
	default:
		return S + " Lending", nil
	}
}

func (g *dirGen) canadianName(typ string, scope dirScope, t dirTown) (string, []string) {
	T, S, S2, Q, R := t.name, pick(g, dirSurnames), pick(g, dirSurnames), pick(g, dirQualifiers), pick(g, dirCARegions)
	switch typ {
	case banklink.InstitutionBank:
		if scope == dirNational {
			if g.pct(0.5) {
				return Q + " Bank of Canada", nil
			}
			return S + " Bank of Canada", nil
		}
		switch g.r.IntN(5) {
		case 0:
			return "Bank of " + T, nil
		case 1:
			return T + " Trust", nil
		case 2:
			return S + " Trust Company", nil
		case 3:
			return R + " Bank", nil
		default:
			return Q + " Bank of " + T, nil
		}
	case banklink.InstitutionCreditUnion:
		switch g.r.IntN(4) {
		case 0:
			return T + " Credit Union", nil
		case 1:
			return R + " Credit Union", nil
		case 2:
			return T + " & District Credit Union", nil
		default:
			return R + " Savings & Credit Union", nil
		}
	case banklink.InstitutionBrokerage:
		switch g.r.IntN(3) {
		case 0:
			return S + " Securities Inc.", nil
		case 1:
			return S + " Wealth Management", nil
		default:
			return S + " & " + S2 + " Capital", nil
		}
	}
	if g.pct(0.5) {
		return pick(g, dirFintechWords) + " " + pick(g, dirFintechNouns), nil
	}
	return S + " Financial", nil
}

// dirFrenchTrades name the members of French employee credit unions
// ("Caisse d'économie des enseignants").
var dirFrenchTrades = []string{"enseignants", "pompiers", "policiers", "infirmières", "cheminots", "fonctionnaires", "travailleurs", "employés municipaux", "métallos", "agriculteurs"}

func (g *dirGen) frenchName(typ string, scope dirScope, t dirTown) (string, []string) {
	T, S, R := t.name, pick(g, dirFrenchSurnames), pick(g, dirQCRegions)
	de := "de " + T
	if first, _ := utf8.DecodeRuneInString(T); strings.ContainsRune("AEIOUÉÈÎ", first) {
		de = "d'" + T
	}
	switch typ {
	case banklink.InstitutionBank:
		if scope == dirNational {
			if g.pct(0.5) {
				return "Banque " + S, nil
			}
			return "Société financière " + S, nil
		}
		switch g.r.IntN(4) {
		case 0:
			return "Banque " + S + " " + de, nil
		case 1:
			return "Banque populaire " + de, nil
		case 2:
			return "Crédit foncier " + de, nil
		default:
			return "Société de crédit " + R, nil
		}
	case banklink.InstitutionCreditUnion:
		switch g.r.IntN(4) {
		case 0, 1:
			return "Caisse populaire " + T, []string{"Caisse " + T}
		case 2:
			return "Caisse populaire " + R, []string{"Caisse " + R}
		default:
			return "Caisse d'économie des " + pick(g, dirFrenchTrades) + " " + de, nil
		}
	case banklink.InstitutionBrokerage:
		switch g.r.IntN(3) {
		case 0:
			return S + " Valeurs mobilières", nil
		case 1:
			return "Placements " + S, nil
		default:
			return "Gestion de patrimoine " + S, nil
		}
	}
	if g.pct(0.5) {
		return "Crédit " + S, nil
	}
	return "Services financiers " + S, nil
}

// dirInitials returns an acronym alias ("TTCU") for a multi-word name.
func dirInitials(name string) []string {
	var b strings.Builder
	for _, w := range strings.Fields(name) {
		if r := []rune(w)[0]; r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		}
	}
	if b.Len() < 3 {
		return nil
	}
	return []string{b.String()}
}

// dirFold maps the accented letters of the word lists to ASCII for domains.
var dirFold = strings.NewReplacer("é", "e", "è", "e", "ê", "e", "ë", "e", "É", "e", "È", "e", "à", "a", "â", "a",
	"À", "a", "î", "i", "ï", "i", "Î", "i", "ô", "o", "Ô", "o", "û", "u", "ù", "u", "ç", "c", "Ç", "c", "&", "and")

// dirSlug makes a domain label from a name: lower-case ASCII letters and
// digits, at most max bytes.
func dirSlug(name string, max int) string {
	s := strings.ToLower(dirFold.Replace(name))
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < max; i++ {
		if c := s[i]; c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b = append(b, c)
		}
	}
	return string(b)
}
