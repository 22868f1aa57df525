package widget_test

import (
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"banklink"
)

// BenchmarkListTransactionsPage lists the newest 100 transactions of a
// connection holding 24 months of data, through the HTTP API (loopback),
// and through the store alone.
func BenchmarkListTransactionsPage(b *testing.B) {
	st := newStack(b)
	id := st.Link(`{"externalCustomerId":"bench","products":["BALANCES","TRANSACTIONS"]}`, "user_good")
	total := len(st.AllTransactions(id))
	b.Logf("connection holds %d transactions", total)
	b.Run("store", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := st.Store.FindTransactions(b.Context(), st.Scope, banklink.TransactionFilter{ConnectionID: id, Limit: 100}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("http", func(b *testing.B) {
		client := &http.Client{}
		for b.Loop() {
			req, _ := http.NewRequest("GET", st.Srv.URL+"/bank-linking/transactions?limit=100&connectionId="+id, nil)
			req.Header.Set("Authorization", "BASIC "+st.APIKey)
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
	st.Svc.Linking.Runner = nil // aggregate by hand, timed
	n, txs := 0, 0
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		// A customer per link: the same login linked again for one
		// customer is a duplicate sharing the first one's data, and its
		// aggregation would write nothing new.
		n++
		id := st.Link(fmt.Sprintf(`{"externalCustomerId":"bench-%d","products":["BALANCES","IDENTIFIERS","OWNERS","TRANSACTIONS"]}`, n), "user_good")
		c0 := processCPU()
		b.StartTimer()
		// As the runner does: in the background, whose writes yield to
		// requests (a large save goes in chunks on SQLite).
		if err := st.Runner.Aggregate(banklink.Background(b.Context()), st.Scope, id); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += processCPU() - c0
		if txs == 0 {
			txs = len(st.AllTransactions(id))
		}
		b.StartTimer()
	}
	// CPU time (user and system, every thread of the process) is what a
	// busy machine runs short of; wall time on a shared VM mostly measures
	// the neighbours.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/op")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n)/float64(max(txs, 1)), "cpu-ns/transaction")
}

// processCPU is the CPU time the process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRefreshByProvider measures one refresh (a full aggregation:
// the 90-day window, then the 24-month pass) of a linked connection per
// provider, with every product but investment transactions: the sandbox
// bank in process (the baseline), and the Plaid and MX adapters talking
// HTTP to their local fakes, decoding, mapping, keeping raw payloads and
// storing into a real SQLite file. The data does not change between
// refreshes, as for most refreshes.
func BenchmarkRefreshByProvider(b *testing.B) {
	const products = `"products":["BALANCES","IDENTIFIERS","OWNERS","TRANSACTIONS"],"optionalProducts":["INVESTMENT_HOLDINGS"]`
	for _, bc := range []struct {
		name string
		link func(b *testing.B) (*stack, string)
	}{
		{"sandbox", func(b *testing.B) (*stack, string) {
			st := newStack(b)
			return st, st.Link(`{"externalCustomerId":"bench",`+products+`}`, "user_good")
		}},
		{"plaid", func(b *testing.B) (*stack, string) {
			st, fp := newPlaidStack(b)
			id, _ := st.PlaidLink(fp, `{"externalCustomerId":"bench",`+products+`,"serviceProvider":"PLAID"}`, "Chase", "ins_56")
			return st, id
		}},
		{"mx", func(b *testing.B) (*stack, string) {
			st, fake := newMXStack(b, false)
			id, _ := st.MXLink(fake, `{"externalCustomerId":"bench",`+products+`,"serviceProvider":"MX"}`, "MX Bank", "correct")
			return st, id
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			st, id := bc.link(b)
			n := len(st.AllTransactions(id))
			for b.Loop() {
				if err := st.Runner.Aggregate(b.Context(), st.Scope, id); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "transactions")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(max(n, 1)), "ns/transaction")
		})
	}
}
