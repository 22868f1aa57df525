package banklink

import (
	"slices"
	"time"
)

// Institution types.
const (
	InstitutionBank        = "BANK"
	InstitutionCreditUnion = "CREDIT_UNION"
	InstitutionBrokerage   = "BROKERAGE"
	InstitutionOther       = "OTHER"
)

// InstitutionTypes lists the valid institution types.
var InstitutionTypes = []string{InstitutionBank, InstitutionCreditUnion, InstitutionBrokerage, InstitutionOther}

// Provider health of an institution, as last observed.
const (
	HealthHealthy  = "HEALTHY"
	HealthDegraded = "DEGRADED"
	HealthDown     = "DOWN"
)

// Institution is a bank, credit union or brokerage a customer can link.
type Institution struct {
	ID      string
	Key     string
	Name    string
	SubName string
	Aliases []string
	Domain  string
	Type    string
	IsTest  bool
	// Rank orders the picker: 1 is the most popular institution, larger
	// numbers less popular ones.
	Rank   int
	Images InstitutionImages
	// Regions lists where the institution serves customers: whole
	// countries ("US") or subdivisions ("US-NY").
	Regions []Region
	// RoutingNumbers are the institution's ABA routing numbers (US only),
	// as the providers' directories list them: a customer may search by
	// the number on a cheque. Each passes IsRoutingNumber.
	RoutingNumbers []string `json:",omitempty"`
	// Providers maps a provider type ("sandbox") to how that provider
	// reaches the institution.
	Providers map[string]ProviderInstitution
}

// InstitutionImages are the institution's logos: https URLs, or a
// "data:image/png;base64," URL where the provider's directory carries the
// image itself (Plaid). See search.Live for how inline images are kept out
// of memory.
type InstitutionImages struct {
	Icon string
	Tile string
	Wide string
	// Color is the brand colour, "#rrggbb", when a provider gives one:
	// the picker's monogram when there is no logo.
	Color string `json:",omitempty"`
}

// ProviderInstitution is one provider's view of an institution.
type ProviderInstitution struct {
	// ProviderInstitutionID is the provider's own id for the institution.
	ProviderInstitutionID string
	// Products lists what the provider supports there, including the
	// HISTORICAL_TRANSACTIONS capability.
	Products []Product
	// Redirect is true when the login redirects to the bank (OAuth).
	Redirect bool
	// NoFrame is true when the login's pages refuse to be framed
	// (X-Frame-Options, CSP frame-ancestors), as real OAuth banks' do:
	// the widget, when it is itself in a frame, opens the login in a
	// popup (or, failing that, the whole window) rather than in its frame.
	// Providers set it from their directories (Plaid's oauth, MX's
	// supports_oauth, Finicity's oauthEnabled).
	NoFrame bool
	Health  string
}

// Eligibility is what a connect request asks of an institution.
type Eligibility struct {
	Products      ProductSet
	Regions       []Region
	AllowRedirect bool
	// Providers holds the provider types enabled for the request; nil
	// means every provider.
	Providers map[string]bool
}

// Ineligibility says why an institution does not fit a request. The zero
// value means it fits.
type Ineligibility struct {
	// NoProvider: no enabled provider reaches the institution at all.
	NoProvider bool
	// MissingProducts are required products that no enabled provider
	// supports there (taking the provider that lacks the fewest).
	MissingProducts ProductSet
	// Region: the institution serves none of the requested regions.
	Region bool
	// Redirect: the only providers that fit log in by redirect and the
	// request disallows redirects.
	Redirect bool
}

// OK reports whether nothing is wrong.
func (r Ineligibility) OK() bool {
	return !r.NoProvider && r.MissingProducts == 0 && !r.Region && !r.Redirect
}

// ServesAny reports whether the institution serves one of regions; an empty
// list means no region filter.
func (in *Institution) ServesAny(regions []Region) bool {
	if len(regions) == 0 {
		return true
	}
	for _, want := range regions {
		for _, have := range in.Regions {
			if have.Covers(want) {
				return true
			}
		}
	}
	return false
}

// CheckEligibility is the one eligibility rule, shared by connect/start, the
// institution search and the widget picker: an institution is eligible when
// some enabled provider supports all required products there (without a
// redirect login if redirects are disallowed) and it serves one of the
// requested regions.
func (in *Institution) CheckEligibility(e Eligibility) Ineligibility {
	var why Ineligibility
	why.Region = !in.ServesAny(e.Regions)
	best, bestName := -1, ""
	sawProvider, blockedByRedirect := false, false
	for name, p := range in.Providers {
		if e.Providers != nil && !e.Providers[name] {
			continue
		}
		sawProvider = true
		missing := e.Products &^ NewProductSet(p.Products...)
		if missing == 0 && p.Redirect && !e.AllowRedirect {
			blockedByRedirect = true
			continue
		}
		if missing == 0 {
			why.MissingProducts, why.Redirect = 0, false
			return why
		}
		// Ties go to the first name, so the same products are reported
		// every time, whatever order the map yields.
		if n := popcount(missing); best < 0 || n < best || n == best && name < bestName {
			best, bestName, why.MissingProducts = n, name, missing
		}
	}
	why.NoProvider = !sawProvider
	if blockedByRedirect {
		// A provider has every product; only the redirect rule stops it,
		// so that is the reason worth telling.
		why.Redirect, why.MissingProducts = true, 0
	}
	return why
}

func popcount(s ProductSet) int {
	n := 0
	for ; s != 0; s &= s - 1 {
		n++
	}
	return n
}

// SupportsAny reports whether one of the named providers reaches the
// institution; an empty list means any provider.
func (in *Institution) SupportsAny(providers []string) bool {
	if len(providers) == 0 {
		return len(in.Providers) > 0
	}
	return slices.ContainsFunc(providers, func(p string) bool { _, ok := in.Providers[p]; return ok })
}

// RoutingDecision records which provider serves a connection and why: the
// provider chosen, the rule that chose it, and every provider passed over
// with its reason. It is stored on the connection so an operator can
// answer "why did this customer get that aggregator?".
type RoutingDecision struct {
	Provider string        `json:"provider"`
	Reason   string        `json:"reason"`
	Skipped  []RoutingSkip `json:"skipped,omitempty"`
	// Profile names the routing profile applied.
	Profile string    `json:"profile,omitempty"`
	At      time.Time `json:"at"`
}

// RoutingSkip is a provider the decision passed over.
type RoutingSkip struct {
	Provider string `json:"provider"`
	Reason   string `json:"reason"`
}

// Routing reasons.
const (
	RouteExplicit  = "EXPLICIT_PROVIDER" // connect/start named the provider
	RouteForced    = "INSTITUTION_RULE"  // a per-institution rule forces it
	RouteWaterfall = "WATERFALL"         // the first eligible in order
	RouteDegraded  = "ALL_FAILING"       // every candidate is failing; the first is tried
	SkipDisabled   = "NOT_ENABLED"       // not enabled for this environment
	SkipNoCoverage = "INSTITUTION_NOT_SUPPORTED"
	SkipProducts   = "PRODUCTS_NOT_SUPPORTED"
	SkipRedirect   = "REDIRECT_NOT_ALLOWED"
	SkipExcluded   = "EXCLUDED_BY_RULE"
	SkipUnhealthy  = "RECENT_FAILURES"
	SkipDown       = "INSTITUTION_DOWN"
)
