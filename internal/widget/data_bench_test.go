package widget_test

import (
	"net/http"
	"testing"

	"banklink"
)

// BenchmarkListTransactionsPage lists the newest 100 transactions of a
// connection holding 24 months of data, through the HTTP API (loopback),
// and through the store alone.
func BenchmarkListTransactionsPage(b *testing.B) {
	st := newStack(b)
	id := st.link(`{"externalCustomerId":"bench","products":["BALANCES","TRANSACTIONS"]}`, "user_good")
	total := len(st.allTransactions(id))
	b.Logf("connection holds %d transactions", total)
	b.Run("store", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := st.store.FindTransactions(b.Context(), st.scope, banklink.TransactionFilter{ConnectionID: id, Limit: 100}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("http", func(b *testing.B) {
		client := &http.Client{}
		for b.Loop() {
			req, _ := http.NewRequest("GET", st.srv.URL+"/bank-linking/transactions?limit=100&connectionId="+id, nil)
			req.Header.Set("Authorization", "BASIC "+st.apiKey)
			resp, err := client.Do(req)
			if err != nil || resp.StatusCode != 200 {
				b.Fatal(err, resp.StatusCode)
			}
			resp.Body.Close()
		}
	})
}

// BenchmarkAggregateConnection measures one full sandbox aggregation of a
// freshly linked connection: the 90-day window, then the 24-month
// historical pass, into a real SQLite file.
func BenchmarkAggregateConnection(b *testing.B) {
	st := newStack(b)
	st.widget.Config.OnComplete = nil // aggregate by hand, timed
	for b.Loop() {
		b.StopTimer()
		id := st.link(`{"externalCustomerId":"bench","products":["BALANCES","IDENTIFIERS","OWNERS","TRANSACTIONS"]}`, "user_good")
		b.StartTimer()
		if err := st.runner.Aggregate(b.Context(), st.scope, id); err != nil {
			b.Fatal(err)
		}
	}
}
