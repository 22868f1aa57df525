package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"banklink"
)

// rawRecord is one record's raw provider payload as a finder returned it.
type rawRecord struct {
	raw      string
	provider string
	at       time.Time
}

// testRawPayloads: the provider's payload of every kind of record is kept
// byte for byte with the connection's provider type and the time it first
// came, replaced by a different one, kept when a later aggregation brings
// none, and absent on records that never had one. Both the list and the
// by-id finders return it.
func testRawPayloads(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, conn, inst := startOne(t, s)
	_, err := s.CompleteConnection(ctx, scope, conn.ID, banklink.Completion{InstitutionID: inst.ID, ProviderType: "mx", LoginID: "USR-1/MBR-1", At: t0})
	must(t, err)
	// Odd spacing: the bytes must come back as sent, not re-encoded.
	payload := func(id string, version int) json.RawMessage {
		if version == 0 {
			return nil
		}
		return json.RawMessage(fmt.Sprintf(`{"guid": "%s",  "version":%d, "nested": {"b": 1, "a": [true]}}`, id, version))
	}
	// aggregation is the connection's data with payload version v on the
	// records that carry one (none with 0); the records t2 and i2 take
	// status and amount from the step, so that they go through the
	// "changed" path while the others do not.
	aggregation := func(v int, status string, amount float64) []banklink.AggregatedAccount {
		changed := tx("t2", "2026-11-20", status, amount)
		changed.Raw = payload("t2", v)
		kept := tx("t1", "2026-11-01", banklink.TxPosted, 4.5)
		kept.Raw = payload("t1", v)
		a1 := aggAccount("a1", kept, changed, tx("t3", "2026-11-02", banklink.TxPosted, 1))
		a1.Type, a1.Subtype, a1.Raw = "INVESTMENT", "BROKERAGE", payload("a1", v)
		a1.Holdings = []banklink.Holding{{ProviderHoldingID: "h1", Symbol: "VTI", Quantity: 2, ClosePrice: 300, CurrentValue: 600, Currency: "USD", Type: "ETF",
			Raw: payload("h1", v)}}
		a1.InvestmentTransactions = []banklink.InvestmentTransaction{
			{ProviderTransactionID: "i1", Amount: 100, Currency: "USD", TransactionDate: "2026-10-15", PostedDate: "2026-10-15", Status: banklink.TxPosted, Type: "BUY",
				Raw: payload("i1", v)},
			{ProviderTransactionID: "i2", Amount: amount, Currency: "USD", TransactionDate: "2026-11-20", Status: status, Type: "CASH", Raw: payload("i2", v)},
		}
		return []banklink.AggregatedAccount{a1, aggAccount("a2")}
	}
	withPayload := []string{"a1", "t1", "t2", "h1", "i1", "i2"}
	without := []string{"a2", "t3"}
	for _, step := range []struct {
		name    string
		version int // sent; 0 sends none
		status  string
		amount  float64
		at      time.Time
		// wantVersion of the stored payload, received at wantAt.
		wantVersion int
		wantAt      time.Time
	}{
		{"first payload is stored", 1, banklink.TxPending, 12, t0, 1, t0},
		{"same payload keeps its time", 1, banklink.TxPending, 12, t0.Add(time.Hour), 1, t0},
		{"newer payload replaces it", 2, banklink.TxPosted, 12, t0.Add(2 * time.Hour), 2, t0.Add(2 * time.Hour)},
		{"no payload keeps the last", 0, banklink.TxPosted, 13, t0.Add(3 * time.Hour), 2, t0.Add(2 * time.Hour)},
	} {
		t.Run(step.name, func(t *testing.T) {
			_, err := s.SaveAggregation(ctx, scope, conn.ID, aggregation(step.version, step.status, step.amount), false, step.at)
			must(t, err)
			got := rawRecords(t, s, scope, conn.ID)
			if len(got) != len(withPayload)+len(without) {
				t.Fatalf("%d records: %v", len(got), got)
			}
			for _, id := range withPayload {
				want := rawRecord{string(payload(id, step.wantVersion)), "mx", step.wantAt}
				if g := got[id]; g.raw != want.raw || g.provider != want.provider || !g.at.Equal(want.at) {
					t.Errorf("%s: payload %s from %q at %v, want %s from %q at %v", id, g.raw, g.provider, g.at, want.raw, want.provider, want.at)
				}
			}
			for _, id := range without {
				if g := got[id]; g != (rawRecord{}) {
					t.Errorf("%s never had a payload, has %+v", id, g)
				}
			}
		})
	}
	// PostgreSQL's TEXT takes only UTF-8: a payload with other bytes in a
	// string is stored with U+FFFD in their place, not refused.
	t.Run("bytes that are not UTF-8 are replaced", func(t *testing.T) {
		a := aggAccount("a3")
		a.Raw = json.RawMessage("{\"guid\": \"a3\", \"name\": \"Caf\xe9\"}")
		_, err := s.SaveAggregation(ctx, scope, conn.ID, []banklink.AggregatedAccount{a}, true, t0.Add(4*time.Hour))
		must(t, err)
		if got, want := rawRecords(t, s, scope, conn.ID)["a3"].raw, "{\"guid\": \"a3\", \"name\": \"Caf\uFFFD\"}"; got != want {
			t.Errorf("stored %q, want %q", got, want)
		}
	})
}

// rawRecords reads every record of connection id by provider id, through
// the list finders and again through the by-id finders, and fails when
// the two disagree.
func rawRecords(t *testing.T, s banklink.Store, scope banklink.Scope, id string) map[string]rawRecord {
	t.Helper()
	ctx := t.Context()
	out := map[string]rawRecord{}
	add := func(pid string, listed, byID rawRecord) {
		t.Helper()
		if listed.raw != byID.raw || listed.provider != byID.provider || !listed.at.Equal(byID.at) {
			t.Errorf("%s: listed %+v, by id %+v", pid, listed, byID)
		}
		out[pid] = listed
	}
	accts, _, err := s.FindFinancialAccounts(ctx, scope, banklink.FinancialAccountFilter{ConnectionID: id, Limit: 100})
	must(t, err)
	for _, a := range accts {
		one, err := s.FindFinancialAccountByID(ctx, scope, a.ID)
		must(t, err)
		add(a.ProviderAccountID, rawRecord{string(a.Raw), a.RawProvider, a.RawUpdatedAt}, rawRecord{string(one.Raw), one.RawProvider, one.RawUpdatedAt})
	}
	txs, _, err := s.FindTransactions(ctx, scope, banklink.TransactionFilter{ConnectionID: id, Limit: 100})
	must(t, err)
	for _, x := range txs {
		one, err := s.FindTransactionByID(ctx, scope, x.ID)
		must(t, err)
		add(x.ProviderTransactionID, rawRecord{string(x.Raw), x.RawProvider, x.RawUpdatedAt}, rawRecord{string(one.Raw), one.RawProvider, one.RawUpdatedAt})
	}
	hs, _, err := s.FindHoldings(ctx, scope, banklink.HoldingFilter{ConnectionID: id, Limit: 100})
	must(t, err)
	for _, h := range hs {
		one, err := s.FindHoldingByID(ctx, scope, h.ID)
		must(t, err)
		add(h.ProviderHoldingID, rawRecord{string(h.Raw), h.RawProvider, h.RawUpdatedAt}, rawRecord{string(one.Raw), one.RawProvider, one.RawUpdatedAt})
	}
	its, _, err := s.FindInvestmentTransactions(ctx, scope, banklink.InvestmentTransactionFilter{ConnectionID: id, Limit: 100})
	must(t, err)
	for _, x := range its {
		one, err := s.FindInvestmentTransactionByID(ctx, scope, x.ID)
		must(t, err)
		add(x.ProviderTransactionID, rawRecord{string(x.Raw), x.RawProvider, x.RawUpdatedAt}, rawRecord{string(one.Raw), one.RawProvider, one.RawUpdatedAt})
	}
	return out
}
