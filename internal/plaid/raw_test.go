package plaid

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"banklink"
)

// TestAggregateKeepsPlaidsRecords: every account, transaction, holding and
// investment transaction carries the JSON object Plaid sent for it: its
// Plaid ids, and fields banklink does not map.
func TestAggregateKeepsPlaidsRecords(t *testing.T) {
	e := newEnv(t)
	in := e.institution(t, "ins_109508")
	step, _ := e.link(t, in, banklink.Products...)
	now := time.Now()
	accts, err := e.p.Aggregate(t.Context(), banklink.AggregationRequest{Institution: in, LoginID: step.LoginID,
		Products: banklink.Products, Since: now.AddDate(0, -24, 0), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	type record struct {
		id  string // banklink's provider id
		raw json.RawMessage
	}
	list := map[string][]record{}
	for _, a := range accts {
		list["account"] = append(list["account"], record{a.ProviderAccountID, a.Raw})
		for _, x := range a.Transactions {
			list["transaction"] = append(list["transaction"], record{x.ProviderTransactionID, x.Raw})
		}
		for _, h := range a.Holdings {
			list["holding"] = append(list["holding"], record{h.ProviderHoldingID, h.Raw})
		}
		for _, x := range a.InvestmentTransactions {
			list["investment transaction"] = append(list["investment transaction"], record{x.ProviderTransactionID, x.Raw})
		}
	}
	str := func(v json.RawMessage) string {
		var s string
		json.Unmarshal(v, &s)
		return s
	}
	for _, tc := range []struct {
		kind string
		// ids are the ids banklink may derive from the record.
		ids func(map[string]json.RawMessage) []string
		// unmapped is a field Plaid sends that banklink does not read.
		unmapped string
	}{
		{"account", func(m map[string]json.RawMessage) []string { return []string{str(m["account_id"])} }, "balances.limit"},
		{"transaction", func(m map[string]json.RawMessage) []string {
			// A posted transaction takes the id of the pending one it replaces.
			return []string{str(m["transaction_id"]), str(m["pending_transaction_id"])}
		}, "payment_channel"},
		{"holding", func(m map[string]json.RawMessage) []string {
			return []string{str(m["account_id"]) + "/" + str(m["security_id"])}
		}, "vested_quantity"},
		{"investment transaction", func(m map[string]json.RawMessage) []string { return []string{str(m["investment_transaction_id"])} }, "cancel_transaction_id"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			if len(list[tc.kind]) == 0 {
				t.Fatal("none aggregated")
			}
			for _, r := range list[tc.kind] {
				var m map[string]json.RawMessage
				if err := json.Unmarshal(r.raw, &m); err != nil {
					t.Fatalf("%s: raw %s: %v", r.id, r.raw, err)
				}
				if ids := tc.ids(m); ids[0] != r.id && (len(ids) < 2 || ids[1] != r.id) {
					t.Errorf("%s: raw names %v", r.id, ids)
				}
				if !has(m, tc.unmapped) {
					t.Errorf("%s: raw %s lacks %s", r.id, r.raw, tc.unmapped)
				}
			}
		})
	}
}

// has reports whether the object m holds the member at path (dotted).
func has(m map[string]json.RawMessage, path string) bool {
	head, rest, nested := strings.Cut(path, ".")
	v, ok := m[head]
	if !ok || !nested {
		return ok
	}
	var inner map[string]json.RawMessage
	return json.Unmarshal(v, &inner) == nil && has(inner, rest)
}

// TestRecordsKeepTheirBytes: a decoded record keeps its element's bytes as
// they came, not a re-encoding; a null element keeps none.
func TestRecordsKeepTheirBytes(t *testing.T) {
	const first = `{"transaction_id": "tx-1",  "amount":1.50, "payment_channel": "online"}`
	for _, tc := range []struct {
		name string
		list string
		want []string
	}{
		{"as sent", `[` + first + `, {"transaction_id":"tx-2"}]`, []string{first, `{"transaction_id":"tx-2"}`}},
		{"null keeps none", `[null]`, []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var txs []transaction
			if err := json.Unmarshal([]byte(tc.list), &txs); err != nil {
				t.Fatal(err)
			}
			if len(txs) != len(tc.want) {
				t.Fatalf("%d transactions", len(txs))
			}
			for i, x := range txs {
				if string(x.raw) != tc.want[i] {
					t.Errorf("raw %d = %s, want %s", i, x.raw, tc.want[i])
				}
			}
			if tc.want[0] != "" && (txs[0].TransactionID != "tx-1" || txs[0].Amount != 1.5) {
				t.Errorf("decoded %+v", txs[0])
			}
		})
	}
}
