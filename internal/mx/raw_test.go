package mx_test

import (
	"encoding/json"
	"testing"

	"banklink/internal/mx/fakemx"
)

// TestAggregateKeepsMXsRecords: every account, transaction and holding
// carries the JSON object MX sent for it, byte for byte (fakemx encodes
// its records with encoding/json, so the bytes are json.Marshal's),
// fields banklink does not map included.
func TestAggregateKeepsMXsRecords(t *testing.T) {
	fake, p := setup(t)
	user := newUser(t, p, "raw")
	in := bank(fakemx.MXBank, "US")
	step := mustLink(t, p, user, in, allProducts)
	got, err := aggregate(t, fake, p, step, in, allProducts...)
	if err != nil {
		t.Fatal(err)
	}
	member := memberOf(step)
	// kept is what banklink returned, by provider id.
	kept := map[string]map[string]json.RawMessage{"account": {}, "transaction": {}, "holding": {}}
	for _, a := range got {
		kept["account"][a.ProviderAccountID] = a.Raw
		for _, x := range a.Transactions {
			kept["transaction"][x.ProviderTransactionID] = x.Raw
		}
		for _, h := range a.Holdings {
			kept["holding"][h.ProviderHoldingID] = h.Raw
		}
	}
	// sent is what fakemx served, by guid.
	sent := map[string]map[string]any{"account": {}, "transaction": {}, "holding": {}}
	for _, a := range fake.Accounts(member) {
		if !a.IsClosed {
			sent["account"][a.GUID] = a
		}
	}
	for _, x := range fake.Transactions(member) {
		sent["transaction"][x.GUID] = x
	}
	for _, h := range fake.Holdings(member) {
		sent["holding"][h.GUID] = h
	}
	for _, kind := range []string{"account", "transaction", "holding"} {
		t.Run(kind, func(t *testing.T) {
			if len(sent[kind]) == 0 || len(kept[kind]) != len(sent[kind]) {
				t.Fatalf("%d kept, MX sent %d", len(kept[kind]), len(sent[kind]))
			}
			for guid, record := range sent[kind] {
				want, err := json.Marshal(record)
				if err != nil {
					t.Fatal(err)
				}
				if string(kept[kind][guid]) != string(want) {
					t.Fatalf("%s %s: kept %s, MX sent %s", kind, guid, kept[kind][guid], want)
				}
			}
		})
	}
}
