package storetest

import (
	"fmt"
	"math/big"
	"strings"
	"testing"

	"banklink"
)

// testCursorKeysPerTenant: records take their keys from sequences shared
// by every tenant, and keys must not show it. Two tenants' keys are
// unrelated, and a key handed to one tenant (an account in one
// environment) is not a cursor for any other.
func testCursorKeysPerTenant(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	a, b := MustAccount(t, s, "A"), MustAccount(t, s, "B")
	sa := banklink.Scope{AccountID: a.ID, Environment: banklink.Sandbox}
	sb := banklink.Scope{AccountID: b.ID, Environment: banklink.Sandbox}
	prod := banklink.Scope{AccountID: a.ID, Environment: banklink.Production}
	start := func(scope banklink.Scope, ext string) *banklink.Connection {
		c := NewConnection(scope)
		must(t, s.StartConnection(ctx, NewCustomer(scope, ext), c))
		return c
	}
	a1 := start(sa, "a")
	var others []*banklink.Connection
	for i := range 5 {
		others = append(others, start(sb, fmt.Sprint("b", i)))
	}
	a2 := start(sa, "a2")
	p1 := start(prod, "a")

	// With the sequence as the key, a2 and a1 read as numbers were 6
	// apart: A learnt that 5 records were made elsewhere in between.
	if d := new(big.Int).Sub(base58Value(t, a2.Key), base58Value(t, a1.Key)); d.CmpAbs(new(big.Int).Lsh(big.NewInt(1), 64)) < 0 {
		t.Errorf("keys %s and %s of consecutive records of one tenant are %v apart: they show the sequence", a1.Key, a2.Key, d)
	}
	list, _, err := s.FindConnections(ctx, sa, banklink.ConnectionFilter{Limit: 10})
	must(t, err)
	if len(list) != 2 || list[0].Key != a1.Key || list[1].Key != a2.Key {
		t.Fatalf("listed keys differ from the keys StartConnection returned")
	}
	page, remaining, err := s.FindConnections(ctx, sa, banklink.ConnectionFilter{Limit: 1, After: a1.Key})
	must(t, err)
	if len(page) != 1 || page[0].ID != a2.ID || remaining != 0 {
		t.Errorf("the page after a1 = %d connections, remaining %d", len(page), remaining)
	}

	refused := func(what string, err error) {
		t.Helper()
		if banklink.ErrorCode(err) != banklink.EBADREQUEST || !strings.Contains(banklink.ErrorMessage(err), "is not a valid cursor") {
			t.Errorf("%s: %v, want BAD_REQUEST \"is not a valid cursor\"", what, err)
		}
	}
	for _, tc := range []struct {
		name  string
		scope banklink.Scope
		key   string
	}{
		{"B's key in A", sa, others[0].Key},
		{"A's key in B", sb, a1.Key},
		{"A's sandbox key in A's production", prod, a1.Key},
		{"A's production key in A's sandbox", sa, p1.Key},
	} {
		_, _, err := s.FindConnections(ctx, tc.scope, banklink.ConnectionFilter{Limit: 5, After: tc.key})
		refused(tc.name+" (after)", err)
		_, _, err = s.FindConnections(ctx, tc.scope, banklink.ConnectionFilter{Limit: 5, Before: tc.key})
		refused(tc.name+" (before)", err)
	}

	// Keys of lists ordered by date carry the day too; they are the
	// tenant's own as well.
	for _, x := range []struct {
		scope banklink.Scope
		conn  *banklink.Connection
	}{{sa, a1}, {sb, others[0]}} {
		_, err := s.SaveAggregation(ctx, x.scope, x.conn.ID, []banklink.AggregatedAccount{aggAccount("acct", tx("t1", "2026-01-02", banklink.TxPosted, 1),
			tx("t2", "2026-01-01", banklink.TxPosted, 2))}, false, t0)
		must(t, err)
	}
	txa, _, err := s.FindTransactions(ctx, sa, banklink.TransactionFilter{Limit: 10})
	must(t, err)
	txb, _, err := s.FindTransactions(ctx, sb, banklink.TransactionFilter{Limit: 10})
	must(t, err)
	if len(txa) != 2 || len(txb) != 2 {
		t.Fatalf("%d and %d transactions", len(txa), len(txb))
	}
	next, _, err := s.FindTransactions(ctx, sa, banklink.TransactionFilter{Limit: 10, After: txa[0].Key})
	must(t, err)
	if len(next) != 1 || next[0].ID != txa[1].ID {
		t.Errorf("the page after A's first transaction has %d", len(next))
	}
	_, _, err = s.FindTransactions(ctx, sa, banklink.TransactionFilter{Limit: 10, After: txb[0].Key})
	refused("B's transaction key in A", err)
	_, _, err = s.FindTransactions(ctx, sb, banklink.TransactionFilter{Limit: 10, Before: txa[1].Key})
	refused("A's transaction key in B", err)
	_, _, err = s.FindTransactions(ctx, sa, banklink.TransactionFilter{Limit: 10, After: a1.Key})
	refused("a connection key as a transaction cursor", err)
}

// base58Value reads a key as the base58 number it is written as.
func base58Value(t *testing.T, key string) *big.Int {
	t.Helper()
	const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	n := new(big.Int)
	for i := 0; i < len(key); i++ {
		d := strings.IndexByte(alphabet, key[i])
		if d < 0 {
			t.Fatalf("key %q is not base58", key)
		}
		n.Mul(n, big.NewInt(58))
		n.Add(n, big.NewInt(int64(d)))
	}
	return n
}
