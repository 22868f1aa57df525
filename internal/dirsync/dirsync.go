// Package dirsync folds a provider's institution list into banklink's
// institution directory: institutions the directory already has gain (or
// refresh) the provider's coverage, new ones are added.
package dirsync

import (
	"crypto/rand"
	"maps"
	"slices"
	"strings"

	"banklink"
	"banklink/internal/search"
)

// Merge matches the provider's institutions (incoming, each with
// Providers[providerType] set, as a provider's directory listing returns
// them) to the existing directory and returns the existing institutions
// it changed and the new ones to add; upsert both. Inputs are not
// modified.
//
// An existing institution the provider already covers under the same
// provider institution id is matched first, so merging again (after a
// rename, say) changes nothing it need not. Otherwise matching is by
// normalised name (case, accents and punctuation ignored,
// "&" read as "and"; see search.Normalize), against the existing
// institutions' names and aliases. When several existing institutions
// share the name, the incoming institution's domain, then its countries,
// pick one; an institution still ambiguous is not guessed at and becomes
// a new one. Several incoming institutions matching one existing
// institution (a provider listing a bank twice, e.g. before and after an
// OAuth migration) give it the coverage with the most products.
//
// incoming must be the provider's complete directory: an existing
// institution whose coverage by providerType matches nothing incoming
// loses that coverage (the provider no longer supports it) and is
// returned among the updated ones.
//
// New institutions get a fresh ID (banklink.NewID), a fresh Key, and
// ranks after the directory's last.
func Merge(existing, incoming []*banklink.Institution, providerType string) (updated, added []*banklink.Institution) {
	byName := map[string][]int{}
	byProviderID := map[string]int{}
	maxRank := 0
	for i, in := range existing {
		if pi, ok := in.Providers[providerType]; ok && pi.ProviderInstitutionID != "" {
			byProviderID[pi.ProviderInstitutionID] = i
		}
		for _, n := range names(in) {
			if !slices.Contains(byName[n], i) {
				byName[n] = append(byName[n], i)
			}
		}
		maxRank = max(maxRank, in.Rank)
	}
	// What each existing institution gets from this provider.
	coverage := map[int]banklink.ProviderInstitution{}
	// New institutions, and their normalised names, so the provider's
	// duplicates merge among themselves too.
	var fresh []*banklink.Institution
	freshByName := map[string][]int{}
	for _, in := range incoming {
		pi, ok := in.Providers[providerType]
		if !ok {
			continue
		}
		name := search.Normalize(in.Name)
		if name == "" {
			continue
		}
		i, ok := byProviderID[pi.ProviderInstitutionID]
		if !ok {
			i, ok = pick(existing, byName[name], in)
		}
		if ok {
			if cur, seen := coverage[i]; !seen || better(pi, cur) {
				coverage[i] = pi
			}
			continue
		}
		if j, ok := pick(fresh, freshByName[name], in); ok {
			if better(pi, fresh[j].Providers[providerType]) {
				fresh[j].Providers[providerType] = pi
			}
			continue
		}
		maxRank++
		n := newInstitution(in, providerType, pi, maxRank)
		freshByName[name] = append(freshByName[name], len(fresh))
		fresh = append(fresh, n)
	}
	for i, in := range existing {
		pi, covered := coverage[i]
		old, had := in.Providers[providerType]
		switch {
		case covered && (!had || !sameCoverage(old, pi) || fills(in, incomingFor(incoming, providerType, pi))):
			c := clone(in)
			c.Providers[providerType] = pi
			fill(c, incomingFor(incoming, providerType, pi))
			updated = append(updated, c)
		case !covered && had:
			c := clone(in)
			delete(c.Providers, providerType)
			updated = append(updated, c)
		}
	}
	return updated, fresh
}

// names returns the normalised name and aliases of in.
func names(in *banklink.Institution) []string {
	out := []string{}
	for _, n := range append([]string{in.Name}, in.Aliases...) {
		if k := search.Normalize(n); k != "" && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// pick chooses among the candidates (indexes into list) sharing in's
// name: the only one, else the only one with in's domain, else the only
// one serving one of in's countries.
func pick(list []*banklink.Institution, candidates []int, in *banklink.Institution) (int, bool) {
	if len(candidates) == 1 {
		return candidates[0], true
	}
	if len(candidates) == 0 {
		return 0, false
	}
	narrow := func(keep func(*banklink.Institution) bool) []int {
		var out []int
		for _, i := range candidates {
			if keep(list[i]) {
				out = append(out, i)
			}
		}
		return out
	}
	if in.Domain != "" {
		if c := narrow(func(x *banklink.Institution) bool { return strings.EqualFold(x.Domain, in.Domain) }); len(c) == 1 {
			return c[0], true
		} else if len(c) > 1 {
			candidates = c
		}
	}
	if len(in.Regions) > 0 {
		if c := narrow(func(x *banklink.Institution) bool { return x.ServesAny(in.Regions) || in.ServesAny(x.Regions) }); len(c) == 1 {
			return c[0], true
		}
	}
	return 0, false
}

// better reports whether coverage a is preferable to b: more products,
// then healthier.
func better(a, b banklink.ProviderInstitution) bool {
	na, nb := len(a.Products), len(b.Products)
	if na != nb {
		return na > nb
	}
	return healthRank(a.Health) < healthRank(b.Health)
}

func healthRank(h string) int {
	switch h {
	case banklink.HealthDown:
		return 2
	case banklink.HealthDegraded:
		return 1
	}
	return 0
}

func sameCoverage(a, b banklink.ProviderInstitution) bool {
	return a.ProviderInstitutionID == b.ProviderInstitutionID && a.Redirect == b.Redirect && a.NoFrame == b.NoFrame && a.Health == b.Health &&
		slices.Equal(a.Products, b.Products)
}

// incomingFor finds the incoming institution that provided pi.
func incomingFor(incoming []*banklink.Institution, providerType string, pi banklink.ProviderInstitution) *banklink.Institution {
	for _, in := range incoming {
		if p, ok := in.Providers[providerType]; ok && p.ProviderInstitutionID == pi.ProviderInstitutionID {
			return in
		}
	}
	return nil
}

// fill completes an existing institution's empty details from the
// provider's listing; the directory's own values win. Routing numbers
// are the union of every provider's: each lists those it knows.
func fill(c, in *banklink.Institution) {
	if in == nil {
		return
	}
	if c.Domain == "" {
		c.Domain = in.Domain
	}
	if c.Images.Icon == "" {
		c.Images.Icon = in.Images.Icon
	}
	if c.Images.Tile == "" {
		c.Images.Tile = in.Images.Tile
	}
	if c.Images.Wide == "" {
		c.Images.Wide = in.Images.Wide
	}
	if c.Images.Color == "" {
		c.Images.Color = in.Images.Color
	}
	if c.Type == "" {
		c.Type = in.Type
	}
	for _, rn := range in.RoutingNumbers {
		if !slices.Contains(c.RoutingNumbers, rn) {
			c.RoutingNumbers = append(c.RoutingNumbers, rn)
		}
	}
}

// fills reports whether fill would change c: the provider brings a
// detail (a logo, a routing number) the directory lacks, so an
// institution whose coverage did not change is still updated.
func fills(c, in *banklink.Institution) bool {
	if in == nil {
		return false
	}
	d := clone(c)
	d.RoutingNumbers = slices.Clone(c.RoutingNumbers)
	fill(d, in)
	return d.Domain != c.Domain || d.Images != c.Images || d.Type != c.Type || len(d.RoutingNumbers) != len(c.RoutingNumbers)
}

func newInstitution(in *banklink.Institution, providerType string, pi banklink.ProviderInstitution, rank int) *banklink.Institution {
	typ := in.Type
	if !slices.Contains(banklink.InstitutionTypes, typ) {
		typ = banklink.InstitutionOther
	}
	return &banklink.Institution{
		ID: banklink.NewID(), Key: newKey(), Name: strings.TrimSpace(in.Name), SubName: in.SubName, Aliases: slices.Clone(in.Aliases),
		Domain: in.Domain, Type: typ, Rank: rank, Images: in.Images, Regions: slices.Clone(in.Regions), RoutingNumbers: slices.Clone(in.RoutingNumbers),
		Providers: map[string]banklink.ProviderInstitution{providerType: pi},
	}
}

// newKey returns a random institution key shaped like the directory's
// (11 base58 characters, 64 bits).
func newKey() string {
	var b [8]byte
	rand.Read(b[:])
	return banklink.EncodeBase58(b[:], 11)
}

func clone(in *banklink.Institution) *banklink.Institution {
	c := *in
	c.Aliases = slices.Clone(in.Aliases)
	c.Regions = slices.Clone(in.Regions)
	c.RoutingNumbers = slices.Clone(in.RoutingNumbers)
	c.Providers = maps.Clone(in.Providers)
	if c.Providers == nil {
		c.Providers = map[string]banklink.ProviderInstitution{}
	}
	return &c
}
