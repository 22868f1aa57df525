// Package routing decides which provider serves a connection at an
// institution: an explicit provider when connect/start named one, else a
// per-institution rule, else the waterfall (the first enabled provider,
// in order, that covers the institution with every required product and
// the redirect preference), skipping provider/institution pairs whose
// recent attempts failed. The decision names every provider it passed
// over and why.
package routing

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"banklink"
)

// Action is what a rule does.
type Action string

// The rule actions.
const (
	Force   Action = "FORCE"
	Exclude Action = "EXCLUDE"
)

// Rule forces or excludes a provider at one institution.
type Rule struct {
	InstitutionID string `json:"institutionId"`
	Provider      string `json:"provider"`
	Action        Action `json:"action"`
}

// Profile is a named set of rules applied on top of the waterfall.
type Profile struct {
	ID    string `json:"id"`
	Rules []Rule `json:"rules"`
}

// Health says whether a provider has been failing at an institution
// lately, and why.
type Health func(provider, institutionID string) (failing bool, reason string)

// Request is one routing question.
type Request struct {
	Institution   *banklink.Institution
	Products      banklink.ProductSet
	AllowRedirect bool
	// Enabled lists the providers enabled for the environment, in
	// waterfall order.
	Enabled []string
	// Explicit is the provider connect/start named, if any.
	Explicit string
	Profile  *Profile
	Health   Health
	Now      time.Time
}

// ErrNoProvider is returned (wrapped in a banklink.Error) when no provider
// can serve the request.
const ErrNoProvider = "NO_ELIGIBLE_PROVIDER"

// Decide routes r.
func Decide(r Request) (*banklink.RoutingDecision, error) {
	d := &banklink.RoutingDecision{At: r.Now}
	if r.Profile != nil {
		d.Profile = r.Profile.ID
	}
	// why returns "" when p can serve the institution, else the reason.
	why := func(p string) string {
		if !slices.Contains(r.Enabled, p) {
			return banklink.SkipDisabled
		}
		pi, ok := r.Institution.Providers[p]
		switch {
		case !ok:
			return banklink.SkipNoCoverage
		case !banklink.NewProductSet(pi.Products...).Contains(r.Products):
			return banklink.SkipProducts
		case pi.Redirect && !r.AllowRedirect:
			return banklink.SkipRedirect
		case pi.Health == banklink.HealthDown:
			return banklink.SkipDown
		}
		if r.Health != nil {
			if failing, reason := r.Health(p, r.Institution.ID); failing {
				if reason != "" {
					return banklink.SkipUnhealthy + ": " + reason
				}
				return banklink.SkipUnhealthy
			}
		}
		return ""
	}
	none := func() error {
		return &banklink.Error{Code: banklink.EBADREQUEST, Reason: ErrNoProvider,
			Message: fmt.Sprintf("No provider can link %s for this request right now.", r.Institution.Name)}
	}
	if r.Explicit != "" {
		// The app asked for this provider: no failover to another.
		if reason := why(r.Explicit); reason != "" && !unhealthy(reason) {
			d.Skipped = append(d.Skipped, banklink.RoutingSkip{Provider: r.Explicit, Reason: reason})
			return d, none()
		}
		d.Provider, d.Reason = r.Explicit, banklink.RouteExplicit
		return d, nil
	}
	excluded := map[string]bool{}
	if r.Profile != nil {
		for _, rule := range r.Profile.Rules {
			if rule.InstitutionID != r.Institution.ID {
				continue
			}
			switch rule.Action {
			case Exclude:
				excluded[rule.Provider] = true
			case Force:
				if reason := why(rule.Provider); reason == "" {
					d.Provider, d.Reason = rule.Provider, banklink.RouteForced
					return d, nil
				} else {
					// A forced provider that cannot serve falls back to
					// the waterfall, and the decision says so.
					d.Skipped = append(d.Skipped, banklink.RoutingSkip{Provider: rule.Provider, Reason: banklink.RouteForced + ": " + reason})
					excluded[rule.Provider] = true
				}
			}
		}
	}
	fallback := ""
	for _, p := range r.Enabled {
		if excluded[p] {
			if !slices.ContainsFunc(d.Skipped, func(s banklink.RoutingSkip) bool { return s.Provider == p }) {
				d.Skipped = append(d.Skipped, banklink.RoutingSkip{Provider: p, Reason: banklink.SkipExcluded})
			}
			continue
		}
		reason := why(p)
		if reason == "" {
			d.Provider, d.Reason = p, banklink.RouteWaterfall
			return d, nil
		}
		if fallback == "" && unhealthy(reason) {
			fallback = p
		}
		d.Skipped = append(d.Skipped, banklink.RoutingSkip{Provider: p, Reason: reason})
	}
	if fallback != "" {
		// Every provider that covers the institution is failing there:
		// try the first anyway, so the customer gets the institution's
		// own error instead of an empty choice.
		d.Skipped = slices.DeleteFunc(d.Skipped, func(s banklink.RoutingSkip) bool { return s.Provider == fallback })
		d.Provider, d.Reason = fallback, banklink.RouteDegraded
		return d, nil
	}
	return d, none()
}

// unhealthy reports whether a skip reason is about health, not coverage.
func unhealthy(reason string) bool {
	return reason == banklink.SkipDown || strings.HasPrefix(reason, banklink.SkipUnhealthy)
}

// Supports reports whether any provider in enabled could serve the
// institution for these products and redirect preference, ignoring
// health: the picker lists an institution when some provider covers it.
func Supports(in *banklink.Institution, products banklink.ProductSet, allowRedirect bool, enabled []string) bool {
	_, err := Decide(Request{Institution: in, Products: products, AllowRedirect: allowRedirect, Enabled: enabled})
	return err == nil
}
