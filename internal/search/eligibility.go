package search

import (
	"maps"
	"slices"
	"strconv"

	"banklink"
)

// maxCacheEntries bounds the Count and Explain memo tables. Real traffic
// repeats a handful of product/region combinations per app, so a table
// this size almost never fills; when it does it is simply dropped.
const maxCacheEntries = 4096

// Explanation says how much each part of an eligibility filter narrows
// the directory, so an app can be told which requirement to relax.
type Explanation struct {
	// Eligible counts the institutions eligible for the filter.
	Eligible int
	// WithoutProduct counts, for each required product, the institutions
	// that would be eligible if that product were not required.
	WithoutProduct map[banklink.Product]int
	// WithoutRegions counts the institutions eligible with no region
	// filter.
	WithoutRegions int
}

// eligible returns the positions of the institutions for which
// CheckEligibility(e).OK() holds, computed on bitsets: an institution is
// eligible when some enabled provider reaches it with every required
// product bit (and without a redirect login when redirects are disallowed),
// and one of its regions covers one of e.Regions.
// The result goes to out; tmp is working space of the same size.
func (ix *Index) eligible(e banklink.Eligibility, out, tmp bitset) {
	out.clear()
	for k, name := range ix.provNames {
		if e.Providers != nil && !e.Providers[name] {
			continue
		}
		tmp.copyFrom(ix.provHas[k])
		for b := range 16 {
			if e.Products&(1<<b) == 0 {
				continue
			}
			pb := ix.provProduct[k][b]
			if pb == nil {
				tmp.clear()
				break
			}
			tmp.and(pb)
		}
		if !e.AllowRedirect {
			tmp.andNot(ix.provRedirect[k])
		}
		out.or(tmp)
	}
	if len(e.Regions) > 0 {
		tmp.clear()
		for k, have := range ix.regionNames {
			if slices.ContainsFunc(e.Regions, have.Covers) {
				tmp.or(ix.regionBits[k])
			}
		}
		out.and(tmp)
	}
}

// countEligible computes Count without the memo table.
func (ix *Index) countEligible(e banklink.Eligibility) int {
	s := ix.getScratch()
	defer ix.scratch.Put(s)
	ix.eligible(e, s.filter, s.tmp)
	return s.filter.count()
}

// eligibilityKey identifies e for the memo tables: the same products,
// allowRedirect, set of regions and set of enabled providers give the same
// key whatever order the caller listed them in. Strings are written with
// their length so no two different filters share a key.
func eligibilityKey(e banklink.Eligibility) string {
	b := make([]byte, 0, 64)
	b = strconv.AppendUint(b, uint64(e.Products), 16)
	b = strconv.AppendBool(append(b, ' '), e.AllowRedirect)
	field := func(s string) {
		b = strconv.AppendInt(append(b, ' '), int64(len(s)), 10)
		b = append(append(b, ':'), s...)
	}
	regions := slices.Clone(e.Regions)
	slices.Sort(regions)
	for _, r := range slices.Compact(regions) {
		field(string(r))
	}
	if e.Providers == nil {
		// nil enables every provider, unlike an empty map.
		return string(append(b, " *"...))
	}
	b = append(b, " |"...)
	names := make([]string, 0, len(e.Providers))
	for name, on := range e.Providers {
		if on {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		field(name)
	}
	return string(b)
}

// Count returns how many institutions are eligible for e. connect/start
// calls it on every request, so results are memoised per distinct e.
func (ix *Index) Count(e banklink.Eligibility) int {
	key := eligibilityKey(e)
	ix.cacheMu.RLock()
	n, ok := ix.counts[key]
	ix.cacheMu.RUnlock()
	if ok {
		return n
	}
	n = ix.countEligible(e)
	ix.cacheMu.Lock()
	if len(ix.counts) >= maxCacheEntries {
		clear(ix.counts)
	}
	ix.counts[key] = n
	ix.cacheMu.Unlock()
	return n
}

// Explain says how far e narrows the directory: the eligible count, the
// count with each required product dropped in turn, and the count without
// the region filter. Results are memoised like Count's.
func (ix *Index) Explain(e banklink.Eligibility) Explanation {
	key := eligibilityKey(e)
	ix.cacheMu.RLock()
	ex, ok := ix.explains[key]
	ix.cacheMu.RUnlock()
	if ok {
		ex.WithoutProduct = maps.Clone(ex.WithoutProduct)
		return ex
	}
	ex = Explanation{Eligible: ix.Count(e), WithoutProduct: map[banklink.Product]int{}}
	for _, p := range banklink.Capabilities {
		bit := banklink.NewProductSet(p)
		if e.Products&bit == 0 {
			continue
		}
		without := e
		without.Products &^= bit
		ex.WithoutProduct[p] = ix.Count(without)
	}
	noRegions := e
	noRegions.Regions = nil
	ex.WithoutRegions = ix.Count(noRegions)

	ix.cacheMu.Lock()
	if len(ix.explains) >= maxCacheEntries {
		clear(ix.explains)
	}
	ix.explains[key] = ex
	ix.cacheMu.Unlock()
	ex.WithoutProduct = maps.Clone(ex.WithoutProduct)
	return ex
}
