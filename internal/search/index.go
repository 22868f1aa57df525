// Package search is banklink's in-memory institution index: name search
// with ranked match tiers, eligibility filters and cursor pagination over
// the whole directory, fast enough to answer the widget's search-as-you-type
// in well under a millisecond.
//
// An Index is immutable once built and safe for concurrent use; Live swaps
// in a rebuilt one when the store's directory changes.
package search

import (
	"cmp"
	"maps"
	"math/bits"
	"slices"
	"strings"
	"sync"

	"banklink"
)

// Query is one institution search.
type Query struct {
	// Name is free text matched against names, aliases and sub-names;
	// empty (or nothing but punctuation) means no name filter.
	Name string
	// Eligibility is what the caller's connection would need: only
	// institutions passing (*banklink.Institution).CheckEligibility match.
	Eligibility banklink.Eligibility
	// ServiceProviders keeps institutions reachable by at least one of
	// these provider types; empty means no filter.
	ServiceProviders []string
	// Types keeps institutions of these types; empty means all.
	Types []string
	// Limit is the page size; the caller validates it, and 0 means 10.
	Limit int
	// After and Before are cursors: the Key of an institution on a
	// previous page. At most one may be set.
	After, Before string
}

// DefaultLimit is the page size of a Query without one.
const DefaultLimit = 10

// Result is one page of a search.
type Result struct {
	Institutions []*banklink.Institution
	// Count is len(Institutions).
	Count int
	// Remaining counts the matches beyond this page in the direction of
	// travel: after it for an After cursor or none, before it for Before.
	Remaining int
	// Routing says how the search read its text as a routing number:
	// RoutingNone, RoutingPrefix, RoutingNumber or RoutingInvalid.
	Routing string
}

// How a search reads its text as an ABA routing number (Result.Routing).
// Spaces, dashes and dots between the digits are ignored.
const (
	// RoutingNone: not only digits, or fewer than four; a name search.
	RoutingNone = ""
	// RoutingPrefix: four to eight digits, a routing number being typed.
	// Institutions with a routing number starting with them come first,
	// then the name matches (a few names hold digits).
	RoutingPrefix = "PREFIX"
	// RoutingNumber: nine digits with a valid checksum
	// (banklink.IsRoutingNumber); only institutions with that routing
	// number match.
	RoutingNumber = "NUMBER"
	// RoutingInvalid: nine digits failing the checksum, a mistyped
	// routing number; nothing matches, so that the picker can say so
	// rather than list look-alikes.
	RoutingInvalid = "INVALID"
)

// routingQuery reads q as a routing number or the start of one.
func routingQuery(q string) (kind, digits string) {
	q = strings.TrimSpace(q)
	if len(q) < 4 || len(q) > 20 {
		return RoutingNone, ""
	}
	b := make([]byte, 0, 9)
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c >= '0' && c <= '9':
			if len(b) == 9 {
				return RoutingNone, ""
			}
			b = append(b, c)
		case c == ' ' || c == '-' || c == '.':
		default:
			return RoutingNone, ""
		}
	}
	switch {
	case len(b) < 4:
		return RoutingNone, ""
	case len(b) < 9:
		return RoutingPrefix, string(b)
	case banklink.IsRoutingNumber(string(b)):
		return RoutingNumber, string(b)
	}
	return RoutingInvalid, string(b)
}

// Index is an immutable index over an institution directory. Its methods
// are safe for concurrent use.
type Index struct {
	version int64
	n       int
	insts   []*banklink.Institution // in base order: rank, normalised name, id
	byID    map[string]int32
	byKey   map[string]int32
	// byProvider maps provider + "\x00" + the provider's institution id
	// to a position, built on first use (ByProviderID).
	byProviderOnce sync.Once
	byProvider     map[string]int32

	// Names. Every institution contributes its distinct normalised name,
	// aliases and sub-name as "strings"; string ids follow base order, so
	// a posting list of string ids is sorted by base order too.
	strs     []string
	strOwner []int32
	// sorted holds the distinct strings in order, for exact lookups and
	// prefix ranges; sortedOwners[i] are the positions owning sorted[i].
	sorted       []string
	sortedOwners [][]int32
	// vocab is every distinct word of every string, sorted; the postings
	// give the strings (vocabStr) and institutions (vocabInst) using it.
	vocab     []string
	vocabStr  []posting
	vocabInst []posting
	// vocabTri maps each byte trigram to the vocab words containing it,
	// so a substring lookup verifies a few words, not the whole vocabulary.
	vocabTri map[uint32][]int32
	// vocabByLen lists the vocab ids by word length in bytes, so a typo
	// lookup compares only words of about the query word's length.
	vocabByLen [][]int32
	// vocabMask is each vocab word's letterMask: a word needs at least as
	// many edits as it has letters the other lacks, so most of the
	// vocabulary is ruled out without computing a distance.
	vocabMask []uint64

	// Filters, as bitsets over positions.
	typeBits     map[string]bitset
	provNames    []string
	provHas      []bitset
	provRedirect []bitset
	provProduct  [][16]bitset // nil where no institution has that product bit
	regionNames  []banklink.Region
	regionBits   []bitset

	// routing holds the directory's distinct routing numbers, sorted;
	// routingOwners[i] are the positions listing routing[i].
	routing       []string
	routingOwners [][]int32

	cacheMu  sync.RWMutex
	counts   map[string]int
	explains map[string]Explanation

	// scratch recycles the per-search bitsets so a search allocates
	// little more than its result page.
	scratch sync.Pool
}

// posting lists the members of a set in increasing order and, when the
// list is long, also holds it as a bitset: OR-ing a few hundred words is
// cheaper than setting thousands of scattered bits.
type posting struct {
	list  []int32
	dense bitset
}

func newPosting(list []int32, size int) posting {
	p := posting{list: list}
	if len(list) >= (size+63)/64*2 {
		p.dense = newBitset(size)
		p.dense.setAll(list)
	}
	return p
}

// addTo adds the members to b.
func (p *posting) addTo(b bitset) {
	if p.dense != nil {
		b.or(p.dense)
	} else {
		b.setAll(p.list)
	}
}

// scratch is the working memory of one search.
type scratch struct {
	filter, tmp bitset    // over positions
	tiers       [5]bitset // over positions
	routing     bitset    // over positions: the routing-number tier
	strA, strB  bitset    // over string ids
}

func (ix *Index) getScratch() *scratch {
	if s, ok := ix.scratch.Get().(*scratch); ok {
		return s
	}
	s := &scratch{filter: newBitset(ix.n), tmp: newBitset(ix.n), routing: newBitset(ix.n), strA: newBitset(len(ix.strs)), strB: newBitset(len(ix.strs))}
	for i := range s.tiers {
		s.tiers[i] = newBitset(ix.n)
	}
	return s
}

// New builds an index over list. The index keeps the pointers: callers
// must not modify the institutions afterwards. Nil entries are skipped.
func New(list []*banklink.Institution) *Index {
	type entry struct {
		in   *banklink.Institution
		name string
	}
	entries := make([]entry, 0, len(list))
	for _, in := range list {
		if in != nil {
			entries = append(entries, entry{in, Normalize(in.Name)})
		}
	}
	slices.SortStableFunc(entries, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.in.Rank, b.in.Rank), strings.Compare(a.name, b.name), strings.Compare(a.in.ID, b.in.ID))
	})

	ix := &Index{
		n:        len(entries),
		insts:    make([]*banklink.Institution, len(entries)),
		byID:     make(map[string]int32, len(entries)),
		byKey:    make(map[string]int32, len(entries)),
		typeBits: map[string]bitset{},
		vocabTri: map[uint32][]int32{},
		counts:   map[string]int{},
		explains: map[string]Explanation{},
	}
	provIdx := map[string]int{}
	regionIdx := map[banklink.Region]int{}
	words := map[string]*struct{ strs, insts []int32 }{}
	owners := map[string][]int32{}
	routing := map[string][]int32{}

	for i, e := range entries {
		pos := int32(i)
		in := e.in
		ix.insts[i] = in
		if _, dup := ix.byID[in.ID]; !dup {
			ix.byID[in.ID] = pos
		}
		if _, dup := ix.byKey[in.Key]; !dup && in.Key != "" {
			ix.byKey[in.Key] = pos
		}

		names := []string{e.name}
		for _, a := range in.Aliases {
			names = append(names, Normalize(a))
		}
		names = append(names, Normalize(in.SubName))
		first := len(ix.strs)
		for _, s := range names {
			if s == "" || slices.Contains(ix.strs[first:], s) {
				continue
			}
			sid := int32(len(ix.strs))
			ix.strs = append(ix.strs, s)
			ix.strOwner = append(ix.strOwner, pos)
			owners[s] = append(owners[s], pos)
			for w := range strings.SplitSeq(s, " ") {
				p := words[w]
				if p == nil {
					p = &struct{ strs, insts []int32 }{}
					words[w] = p
				}
				if k := len(p.strs); k == 0 || p.strs[k-1] != sid {
					p.strs = append(p.strs, sid)
				}
				if k := len(p.insts); k == 0 || p.insts[k-1] != pos {
					p.insts = append(p.insts, pos)
				}
			}
		}

		for _, rn := range in.RoutingNumbers {
			if l := routing[rn]; banklink.IsRoutingNumber(rn) && (len(l) == 0 || l[len(l)-1] != pos) {
				routing[rn] = append(l, pos)
			}
		}

		tb := ix.typeBits[in.Type]
		if tb == nil {
			tb = newBitset(ix.n)
			ix.typeBits[in.Type] = tb
		}
		tb.set(i)

		for name, p := range in.Providers {
			k, ok := provIdx[name]
			if !ok {
				k = len(ix.provNames)
				provIdx[name] = k
				ix.provNames = append(ix.provNames, name)
				ix.provHas = append(ix.provHas, newBitset(ix.n))
				ix.provRedirect = append(ix.provRedirect, newBitset(ix.n))
				ix.provProduct = append(ix.provProduct, [16]bitset{})
			}
			ix.provHas[k].set(i)
			if p.Redirect {
				ix.provRedirect[k].set(i)
			}
			set := banklink.NewProductSet(p.Products...)
			for b := range 16 {
				if set&(1<<b) == 0 {
					continue
				}
				if ix.provProduct[k][b] == nil {
					ix.provProduct[k][b] = newBitset(ix.n)
				}
				ix.provProduct[k][b].set(i)
			}
		}

		for _, r := range in.Regions {
			k, ok := regionIdx[r]
			if !ok {
				k = len(ix.regionNames)
				regionIdx[r] = k
				ix.regionNames = append(ix.regionNames, r)
				ix.regionBits = append(ix.regionBits, newBitset(ix.n))
			}
			ix.regionBits[k].set(i)
		}
	}

	ix.sorted = make([]string, 0, len(owners))
	for s := range owners {
		ix.sorted = append(ix.sorted, s)
	}
	slices.Sort(ix.sorted)
	ix.sortedOwners = make([][]int32, len(ix.sorted))
	for i, s := range ix.sorted {
		ix.sortedOwners[i] = owners[s]
	}

	ix.routing = slices.Sorted(maps.Keys(routing))
	ix.routingOwners = make([][]int32, len(ix.routing))
	for i, rn := range ix.routing {
		ix.routingOwners[i] = routing[rn]
	}

	ix.vocab = make([]string, 0, len(words))
	for w := range words {
		ix.vocab = append(ix.vocab, w)
	}
	slices.Sort(ix.vocab)
	ix.vocabMask = make([]uint64, len(ix.vocab))
	ix.vocabStr = make([]posting, len(ix.vocab))
	ix.vocabInst = make([]posting, len(ix.vocab))
	for id, w := range ix.vocab {
		ix.vocabStr[id] = newPosting(words[w].strs, len(ix.strs))
		ix.vocabInst[id] = newPosting(words[w].insts, ix.n)
		for j := 0; j+3 <= len(w); j++ {
			t := trigram(w[j:])
			if l := ix.vocabTri[t]; len(l) == 0 || l[len(l)-1] != int32(id) {
				ix.vocabTri[t] = append(l, int32(id))
			}
		}
		ix.vocabMask[id] = letterMask(w)
		for len(ix.vocabByLen) <= len(w) {
			ix.vocabByLen = append(ix.vocabByLen, nil)
		}
		ix.vocabByLen[len(w)] = append(ix.vocabByLen[len(w)], int32(id))
	}
	return ix
}

func trigram(s string) uint32 { return uint32(s[0])<<16 | uint32(s[1])<<8 | uint32(s[2]) }

// Len returns the number of institutions in the index.
func (ix *Index) Len() int { return ix.n }

// Version returns the directory version the index was built from (0 for
// an index not built by Live).
func (ix *Index) Version() int64 { return ix.version }

// ByID returns the institution with id.
func (ix *Index) ByID(id string) (*banklink.Institution, bool) {
	if i, ok := ix.byID[id]; ok {
		return ix.insts[i], true
	}
	return nil, false
}

// ByProviderID returns the institution the provider knows as id (a
// Plaid ins_ id), the first in base order when several share it.
func (ix *Index) ByProviderID(provider, id string) (*banklink.Institution, bool) {
	ix.byProviderOnce.Do(func() {
		ix.byProvider = map[string]int32{}
		for i, in := range ix.insts {
			for p, pi := range in.Providers {
				k := p + "\x00" + pi.ProviderInstitutionID
				if _, ok := ix.byProvider[k]; !ok {
					ix.byProvider[k] = int32(i)
				}
			}
		}
	})
	if i, ok := ix.byProvider[provider+"\x00"+id]; ok {
		return ix.insts[i], true
	}
	return nil, false
}

// ByKey returns the institution with key.
func (ix *Index) ByKey(key string) (*banklink.Institution, bool) {
	if i, ok := ix.byKey[key]; ok {
		return ix.insts[i], true
	}
	return nil, false
}

// Search returns one page of the institutions matching q, best matches
// first: exact name matches, then prefix, word-prefix and substring
// matches, each tier in rank order. Only when none of those match does it
// forgive typos (see Typos): "fidelty" finds Fidelity, "bnak of amercia"
// Bank of America, while a query that matches as typed is never padded
// with near misses. Digits are read as a routing number (see
// RoutingPrefix, RoutingNumber and RoutingInvalid). It returns a
// BAD_REQUEST *banklink.Error when q.After or q.Before is not the key of
// an institution matching q.
func (ix *Index) Search(q Query) (Result, error) {
	if q.After != "" && q.Before != "" {
		return Result{}, banklink.Errorf(banklink.EBADREQUEST, "Pass either [before] or [after], not both.")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	s := ix.getScratch()
	defer ix.scratch.Put(s)
	ix.filter(q, s)
	tiers := []bitset{s.filter}
	kind, digits := routingQuery(q.Name)
	switch kind {
	case RoutingInvalid:
		s.routing.clear()
		tiers = []bitset{s.routing}
	case RoutingNumber:
		ix.routingTier(digits, true, s.routing)
		s.routing.and(s.filter)
		tiers = []bitset{s.routing}
	default:
		name := Normalize(q.Name)
		if name == "" {
			break
		}
		tiers = s.tiers[:4]
		ix.nameTiers(name, s)
		if kind == RoutingPrefix {
			ix.routingTier(digits, false, s.routing)
			s.routing.and(s.filter)
			for _, t := range tiers {
				t.andNot(s.routing)
			}
			tiers = append([]bitset{s.routing}, tiers...)
		}
		matched := false
		for _, t := range tiers {
			t.and(s.filter)
			matched = matched || t.any()
		}
		if !matched {
			tiers = s.tiers[4:]
			ix.typoTier(strings.Split(name, " "), tiers[0], s)
			tiers[0].and(s.filter)
		}
	}
	res, err := ix.page(tiers, q, limit)
	res.Routing = kind
	return res, err
}

// routingTier sets out to the institutions with routing number digits
// (exact) or with one starting with digits.
func (ix *Index) routingTier(digits string, exact bool, out bitset) {
	out.clear()
	for i, _ := slices.BinarySearch(ix.routing, digits); i < len(ix.routing) && strings.HasPrefix(ix.routing[i], digits); i++ {
		out.setAll(ix.routingOwners[i])
		if exact {
			return
		}
	}
}

// page cuts one page out of the ordering tiers[0] ∪ tiers[1] ∪ …, each
// tier in base order; the tiers are disjoint.
func (ix *Index) page(tiers []bitset, q Query, limit int) (Result, error) {
	total := 0
	for _, t := range tiers {
		total += t.count()
	}
	cursor, field := q.After, "after"
	if q.Before != "" {
		cursor, field = q.Before, "before"
	}
	tier, pos, rank := 0, -1, -1 // rank: the cursor's index in the ordering
	if cursor != "" {
		p, ok := ix.byKey[cursor]
		if ok {
			pos = int(p)
			tier = slices.IndexFunc(tiers, func(t bitset) bool { return t.has(pos) })
		}
		if !ok || tier < 0 {
			return Result{}, banklink.FieldErrorf(field, "is not a cursor of this search")
		}
		rank = tiers[tier].countBelow(pos)
		for _, t := range tiers[:tier] {
			rank += t.count()
		}
	}

	size := limit
	if q.Before != "" {
		size = min(size, rank)
	} else {
		size = min(size, total-rank-1)
	}
	out := Result{Institutions: make([]*banklink.Institution, 0, size)}
	if q.Before != "" {
		// Walk back from the cursor, then restore the normal order.
		for len(out.Institutions) < limit {
			pos = tiers[tier].prev(pos - 1)
			for pos < 0 && tier > 0 {
				tier--
				pos = tiers[tier].prev(ix.n - 1)
			}
			if pos < 0 {
				break
			}
			out.Institutions = append(out.Institutions, ix.insts[pos])
		}
		slices.Reverse(out.Institutions)
		out.Count = len(out.Institutions)
		out.Remaining = rank - out.Count
		return out, nil
	}
	for len(out.Institutions) < limit {
		pos = tiers[tier].next(pos + 1)
		for pos < 0 && tier < len(tiers)-1 {
			tier++
			pos = tiers[tier].next(0)
		}
		if pos < 0 {
			break
		}
		out.Institutions = append(out.Institutions, ix.insts[pos])
	}
	out.Count = len(out.Institutions)
	out.Remaining = total - (rank + 1) - out.Count
	return out, nil
}

// filter sets s.filter to the positions passing q's eligibility, provider
// and type filters.
func (ix *Index) filter(q Query, s *scratch) {
	ix.eligible(q.Eligibility, s.filter, s.tmp)
	if len(q.Types) > 0 {
		s.tmp.clear()
		for _, t := range q.Types {
			if b := ix.typeBits[t]; b != nil {
				s.tmp.or(b)
			}
		}
		s.filter.and(s.tmp)
	}
	if len(q.ServiceProviders) > 0 {
		s.tmp.clear()
		for _, p := range q.ServiceProviders {
			if k := slices.Index(ix.provNames, p); k >= 0 {
				s.tmp.or(ix.provHas[k])
			}
		}
		s.filter.and(s.tmp)
	}
}

// nameTiers sets s.tiers to the four disjoint match tiers of a normalised,
// non-empty query: exact, prefix, word prefix and substring matches.
func (ix *Index) nameTiers(q string, s *scratch) {
	exact, prefix, wordPrefix, substring := s.tiers[0], s.tiers[1], s.tiers[2], s.tiers[3]
	exact.clear()
	prefix.clear()
	lo, found := slices.BinarySearch(ix.sorted, q)
	if found {
		exact.setAll(ix.sortedOwners[lo])
	}
	for i := lo; i < len(ix.sorted) && strings.HasPrefix(ix.sorted[i], q); i++ {
		prefix.setAll(ix.sortedOwners[i])
	}
	words := strings.Split(q, " ")
	ix.wordPrefix(words, wordPrefix, s)
	ix.substring(q, words, substring, s)

	// Each tier loses the institutions a better tier already holds: exact
	// ⊂ prefix, so prefix−exact, then word prefix and substring minus
	// everything above them.
	prefix.andNot(exact)
	wordPrefix.andNot(exact)
	wordPrefix.andNot(prefix)
	substring.andNot(exact)
	substring.andNot(prefix)
	substring.andNot(wordPrefix)
}

// prefixRange returns the vocab ids of the words starting with w.
func (ix *Index) prefixRange(w string) (lo, hi int) {
	lo, _ = slices.BinarySearch(ix.vocab, w)
	hi = lo
	for hi < len(ix.vocab) && strings.HasPrefix(ix.vocab[hi], w) {
		hi++
	}
	return lo, hi
}

// wordPrefix sets out to the institutions with a name string in which
// every query word starts some word.
func (ix *Index) wordPrefix(words []string, out bitset, s *scratch) {
	out.clear()
	if len(words) == 1 {
		lo, hi := ix.prefixRange(words[0])
		for id := lo; id < hi; id++ {
			ix.vocabInst[id].addTo(out)
		}
		return
	}
	// Several words must start words of the same string, so intersect in
	// string space before projecting onto institutions.
	cand, cur := s.strA, s.strB
	for i, w := range words {
		lo, hi := ix.prefixRange(w)
		if lo == hi {
			return
		}
		dst := cur
		if i == 0 {
			dst = cand
		}
		dst.clear()
		for id := lo; id < hi; id++ {
			ix.vocabStr[id].addTo(dst)
		}
		if i > 0 {
			cand.and(cur)
		}
	}
	for sid := cand.next(0); sid >= 0; sid = cand.next(sid + 1) {
		out.set(int(ix.strOwner[sid]))
	}
}

// containing calls f with the vocab id of each word that contains w.
func (ix *Index) containing(w string, f func(id int)) {
	if len(w) < 3 {
		for id, v := range ix.vocab {
			if strings.Contains(v, w) {
				f(id)
			}
		}
		return
	}
	// Only the words holding the query's rarest trigram need checking.
	var best []int32
	for j := 0; j+3 <= len(w); j++ {
		l, ok := ix.vocabTri[trigram(w[j:])]
		if !ok {
			return
		}
		if best == nil || len(l) < len(best) {
			best = l
		}
	}
	for _, id := range best {
		if strings.Contains(ix.vocab[id], w) {
			f(int(id))
		}
	}
}

// substring sets out to the institutions with a name string containing q.
func (ix *Index) substring(q string, words []string, out bitset, s *scratch) {
	out.clear()
	if len(words) == 1 {
		ix.containing(q, func(id int) { ix.vocabInst[id].addTo(out) })
		return
	}
	// q spans a word boundary: its first word ends a word of the string,
	// middle words are whole words, and its last word starts a word.
	// Intersecting those postings gives candidates; strings.Contains
	// settles adjacency.
	cand, cur := s.strA, s.strB
	cand.clear()
	ix.containing(words[0], func(id int) {
		if strings.HasSuffix(ix.vocab[id], words[0]) {
			ix.vocabStr[id].addTo(cand)
		}
	})
	for _, w := range words[1 : len(words)-1] {
		id, ok := slices.BinarySearch(ix.vocab, w)
		if !ok {
			return
		}
		cur.clear()
		ix.vocabStr[id].addTo(cur)
		cand.and(cur)
	}
	lo, hi := ix.prefixRange(words[len(words)-1])
	cur.clear()
	for id := lo; id < hi; id++ {
		ix.vocabStr[id].addTo(cur)
	}
	cand.and(cur)
	for sid := cand.next(0); sid >= 0; sid = cand.next(sid + 1) {
		if strings.Contains(ix.strs[sid], q) {
			out.set(int(ix.strOwner[sid]))
		}
	}
}

// Typos is how many typos a query word of n bytes may carry and still
// match a word of a name: none below four letters (too many short words
// are one edit apart), one up to seven, two from eight. A typo is one
// insertion, deletion, substitution or swap of two neighbouring letters.
func Typos(n int) int {
	switch {
	case n < 4:
		return 0
	case n < 8:
		return 1
	}
	return 2
}

// typoTier sets out to the institutions with a name string in which every
// query word starts some word or is within Typos of one.
func (ix *Index) typoTier(words []string, out bitset, s *scratch) {
	out.clear()
	var ids []int32
	matches := func(w string) []int32 {
		ids = ids[:0]
		lo, hi := ix.prefixRange(w)
		for id := lo; id < hi; id++ {
			ids = append(ids, int32(id))
		}
		if d := Typos(len(w)); d > 0 {
			mask := letterMask(w)
			for n := max(1, len(w)-d); n <= len(w)+d && n < len(ix.vocabByLen); n++ {
				for _, id := range ix.vocabByLen[n] {
					vm := ix.vocabMask[id]
					if bits.OnesCount64(mask&^vm) > d || bits.OnesCount64(vm&^mask) > d {
						continue
					}
					if v := ix.vocab[id]; !strings.HasPrefix(v, w) && withinEdits(w, v, d) {
						ids = append(ids, id)
					}
				}
			}
		}
		return ids
	}
	if len(words) == 1 {
		for _, id := range matches(words[0]) {
			ix.vocabInst[id].addTo(out)
		}
		return
	}
	cand, cur := s.strA, s.strB
	for i, w := range words {
		dst := cur
		if i == 0 {
			dst = cand
		}
		dst.clear()
		m := matches(w)
		if len(m) == 0 {
			return
		}
		for _, id := range m {
			ix.vocabStr[id].addTo(dst)
		}
		if i > 0 {
			cand.and(cur)
		}
	}
	for sid := cand.next(0); sid >= 0; sid = cand.next(sid + 1) {
		out.set(int(ix.strOwner[sid]))
	}
}

// withinEdits reports whether a and b are at most d edits apart, counting
// a swap of two neighbouring bytes as one edit (optimal string alignment
// distance). It fills only the band of cells that can stay within d and
// stops as soon as a row exceeds it.
func withinEdits(a, b string, d int) bool {
	if abs(len(a)-len(b)) > d {
		return false
	}
	if len(b) == 0 {
		return len(a) <= d
	}
	const inf = 1 << 20
	// Three rows: the one before the previous (for swaps), the previous,
	// and the current; each holds len(b)+1 cells.
	var buf [3][34]int
	if len(b)+1 > len(buf[0]) {
		return false // longer than any word worth a typo lookup
	}
	pp, prev, cur := buf[0][:len(b)+1], buf[1][:len(b)+1], buf[2][:len(b)+1]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		lo, hi := max(1, i-d), min(len(b), i+d)
		for j := range cur {
			cur[j] = inf
		}
		best := inf
		if lo == 1 {
			cur[0] = i
			best = i
		}
		for j := lo; j <= hi; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j-1]+cost, prev[j]+1, cur[j-1]+1)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, pp[j-2]+1)
			}
			cur[j] = v
			best = min(best, v)
		}
		if best > d {
			return false
		}
		pp, prev, cur = prev, cur, pp
	}
	return prev[len(b)] <= d
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// letterMask has a bit for each letter and digit s holds (other bytes
// share one bit).
func letterMask(s string) uint64 {
	var m uint64
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z':
			m |= 1 << (c - 'a')
		case c >= '0' && c <= '9':
			m |= 1 << (26 + c - '0')
		default:
			m |= 1 << 63
		}
	}
	return m
}
