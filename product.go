package banklink

import (
	"slices"
	"strings"
)

// Product is a kind of data a connection aggregates.
type Product string

// The products an app may request. HistoricalTransactions is not one of
// them: it is a capability an institution may have (two years of history on
// top of the initial window) and appears only in institution data.
const (
	Balances               Product = "BALANCES"
	Owners                 Product = "OWNERS"
	Identifiers            Product = "IDENTIFIERS"
	Transactions           Product = "TRANSACTIONS"
	InvestmentHoldings     Product = "INVESTMENT_HOLDINGS"
	InvestmentTransactions Product = "INVESTMENT_TRANSACTIONS"

	HistoricalTransactions Product = "HISTORICAL_TRANSACTIONS"
)

// Products lists the requestable products in their canonical order.
var Products = []Product{Balances, Owners, Identifiers, Transactions, InvestmentHoldings, InvestmentTransactions}

// Capabilities lists everything an institution can support: the products
// plus the HISTORICAL_TRANSACTIONS capability.
var Capabilities = append(slices.Clone(Products), HistoricalTransactions)

// ProductSet is a bit set of products and capabilities; eligibility checks
// over tens of thousands of institutions compare these instead of slices.
type ProductSet uint16

func productBit(p Product) ProductSet {
	if i := slices.Index(Capabilities, p); i >= 0 {
		return 1 << i
	}
	return 0
}

// NewProductSet returns the set of the known products in ps; unknown names
// are ignored (validate first).
func NewProductSet(ps ...Product) ProductSet {
	var s ProductSet
	for _, p := range ps {
		s |= productBit(p)
	}
	return s
}

// Has reports whether s contains p.
func (s ProductSet) Has(p Product) bool { b := productBit(p); return b != 0 && s&b == b }

// Contains reports whether every product of o is in s.
func (s ProductSet) Contains(o ProductSet) bool { return s&o == o }

// Slice returns the products of s in canonical order.
func (s ProductSet) Slice() []Product {
	out := []Product{}
	for _, p := range Capabilities {
		if s.Has(p) {
			out = append(out, p)
		}
	}
	return out
}

// ParseProduct returns the product named s (exactly, as on the wire).
func ParseProduct(s string) (Product, bool) {
	p := Product(s)
	return p, slices.Contains(Products, p)
}

// ValidateProducts checks a request's product list: known names, no
// duplicates. field names the list in error messages.
func ValidateProducts(field string, list []string) ([]Product, error) {
	out := make([]Product, 0, len(list))
	seen := map[string]bool{}
	for _, s := range list {
		if s == string(HistoricalTransactions) {
			return nil, FieldErrorf(field, "does not accept HISTORICAL_TRANSACTIONS: it is an institution capability, not a product; pass TRANSACTIONS and the historical pass runs wherever the institution supports it")
		}
		p, ok := ParseProduct(s)
		if !ok {
			return nil, FieldErrorf(field, "contains unknown product %q; valid values are %s", s, joinProducts(Products))
		}
		if seen[s] {
			return nil, FieldErrorf(field, "lists %s more than once", s)
		}
		seen[s] = true
		out = append(out, p)
	}
	return out, nil
}

func joinProducts(ps []Product) string {
	ss := make([]string, len(ps))
	for i, p := range ps {
		ss[i] = string(p)
	}
	return strings.Join(ss, ", ")
}
