package providers_test

import (
	"fmt"
	"net/url"
	"testing"

	"banklink/internal/wiring/wiringtest"
	"banklink/webhook"
)

// TestWebhookSearchKeyRecipe runs Meld's incremental-fetch recipe
// (docs/webhooks.md): after a day of changes at the provider (a new
// purchase, a pending transaction posting under a new id, a declined one
// removed) and a refresh, paging each account's transactions with
// before=<oldestTransactionUpdatedSearchKey> from the refresh's
// TRANSACTIONS_AGGREGATED event returns every transaction the refresh
// wrote. An account with nothing written carries null.
func TestWebhookSearchKeyRecipe(t *testing.T) {
	pc := providerCases[1]
	if pc.name != "plaid" {
		t.Fatalf("providerCases[1] is %s, want plaid", pc.name)
	}
	body := `{"externalCustomerId":"recipe","products":["BALANCES","TRANSACTIONS"],"serviceProvider":"PLAID"}`
	st, id, _, _, change := pc.link(t, body, "recipe")
	type state struct{ status, posted, description string }
	snapshot := func() map[string]state {
		out := map[string]state{}
		for _, tx := range st.AllTransactions(id) {
			p := ""
			if tx.PostedDate != nil {
				p = *tx.PostedDate
			}
			out[tx.ID] = state{tx.Status, p, fmt.Sprint(tx.Amount, tx.Description)}
		}
		return out
	}
	before := snapshot()
	change()
	if err := st.Runner.Aggregate(t.Context(), st.Scope, id); err != nil {
		t.Fatal(err)
	}
	after := snapshot()
	changed := map[string]bool{}
	for txID, s := range after {
		if old, ok := before[txID]; !ok || old != s {
			changed[txID] = true
		}
	}
	if len(changed) < 3 {
		t.Fatalf("the change wrote %d transactions, want at least 3", len(changed))
	}

	// The refresh's TRANSACTIONS_AGGREGATED: the newest one.
	var events struct {
		Events []struct {
			EventType string          `json:"eventType"`
			Payload   webhook.Payload `json:"payload"`
		} `json:"events"`
	}
	st.Get("/webhooks/events?limit=100&connectionId="+url.QueryEscape(id), &events)
	var last *webhook.Payload
	for i := range events.Events {
		if events.Events[i].EventType == string(webhook.TransactionsAggregated) {
			last = &events.Events[i].Payload
		}
	}
	if last == nil {
		t.Fatal("no TRANSACTIONS_AGGREGATED event")
	}
	read := map[string]bool{}
	keys := 0
	for _, fa := range last.FinancialAccounts {
		key := fa.OldestTransactionUpdatedSearchKey
		if key == "" {
			continue
		}
		keys++
		for {
			var page wiringtest.TxList
			if status := st.Get("/bank-linking/transactions?limit=2&financialAccountId="+fa.ID+"&before="+url.QueryEscape(key), &page); status != 200 {
				t.Fatalf("recipe page: %d", status)
			}
			for _, tx := range page.Transactions {
				read[tx.ID] = true
			}
			if page.Remaining == 0 || len(page.Transactions) == 0 {
				break
			}
			key = page.Transactions[0].Key
		}
	}
	if keys == 0 {
		t.Fatal("no account carries oldestTransactionUpdatedSearchKey")
	}
	for txID := range changed {
		if !read[txID] {
			t.Errorf("transaction %s (%+v) changed but the recipe did not read it", txID, after[txID])
		}
	}
	// Paging the whole history is not what the recipe does.
	if len(read) >= len(after) {
		t.Errorf("the recipe read %d of %d transactions: the key does not narrow anything", len(read), len(after))
	}
}
