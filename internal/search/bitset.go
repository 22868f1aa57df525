package search

import "math/bits"

// bitset is a fixed-size set of small integers: institution positions in
// base order, or name-string ids. Filters and match tiers are bitsets so
// that combining them over 20,000 institutions is a few hundred word
// operations, and walking one in order yields results already sorted.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i int)      { b[i>>6] |= 1 << (uint(i) & 63) }
func (b bitset) has(i int) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }

func (b bitset) or(o bitset) {
	for i := range b {
		b[i] |= o[i]
	}
}

func (b bitset) and(o bitset) {
	for i := range b {
		b[i] &= o[i]
	}
}

func (b bitset) andNot(o bitset) {
	for i := range b {
		b[i] &^= o[i]
	}
}

func (b bitset) clear() { clear(b) }

func (b bitset) copyFrom(o bitset) { copy(b, o) }

// any reports whether b has a member.
func (b bitset) any() bool {
	for _, w := range b {
		if w != 0 {
			return true
		}
	}
	return false
}

func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// countBelow returns how many members are smaller than i.
func (b bitset) countBelow(i int) int {
	n := 0
	for _, w := range b[:i>>6] {
		n += bits.OnesCount64(w)
	}
	if r := uint(i) & 63; r != 0 {
		n += bits.OnesCount64(b[i>>6] & (1<<r - 1))
	}
	return n
}

// next returns the smallest member >= i, or -1.
func (b bitset) next(i int) int {
	if i < 0 {
		i = 0
	}
	w := i >> 6
	if w >= len(b) {
		return -1
	}
	word := b[w] &^ (1<<(uint(i)&63) - 1)
	for {
		if word != 0 {
			return w<<6 + bits.TrailingZeros64(word)
		}
		if w++; w >= len(b) {
			return -1
		}
		word = b[w]
	}
}

// prev returns the largest member <= i, or -1.
func (b bitset) prev(i int) int {
	if i < 0 || len(b) == 0 {
		return -1
	}
	w := i >> 6
	if w >= len(b) {
		w, i = len(b)-1, len(b)*64-1
	}
	word := b[w]
	if r := uint(i) & 63; r != 63 {
		word &= 1<<(r+1) - 1
	}
	for {
		if word != 0 {
			return w<<6 + 63 - bits.LeadingZeros64(word)
		}
		if w--; w < 0 {
			return -1
		}
		word = b[w]
	}
}

// setAll adds every member of list.
func (b bitset) setAll(list []int32) {
	for _, i := range list {
		b[i>>6] |= 1 << (uint(i) & 63)
	}
}
