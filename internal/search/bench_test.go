package search

import (
	"slices"
	"sync"
	"testing"
	"time"

	"banklink"
	"banklink/internal/sandbox"
)

// The benchmarks measure the default 20,000-institution sandbox directory;
// the target is a p99 under 1 ms per Search.

var benchDir = sync.OnceValue(func() []*banklink.Institution {
	return sandbox.Directory(sandbox.DefaultSeed, sandbox.DefaultDirectorySize)
})

var benchIndex = sync.OnceValue(func() *Index { return New(benchDir()) })

type benchQuery struct {
	name string
	q    Query
}

// benchQueries are the typical searches: search-as-you-type on a common
// prefix, a rare full name, abbreviated words, a connect-style filtered
// search and the unfiltered first page of the picker.
func benchQueries() []benchQuery {
	dir := benchDir()
	rare := dir[len(dir)*3/4].Name
	sandboxOnly := map[string]bool{sandbox.ProviderType: true}
	filtered := banklink.Eligibility{
		Products:  banklink.NewProductSet(banklink.Balances, banklink.Transactions, banklink.Identifiers),
		Regions:   []banklink.Region{"US-NY", "US-NJ"},
		Providers: sandboxOnly,
	}
	deep, err := benchIndex().Search(Query{Name: "bank", Eligibility: all, Limit: 1000})
	if err != nil {
		panic(err)
	}
	return []benchQuery{
		{"prefix_first", Query{Name: "first", Eligibility: all}},
		{"rare_name", Query{Name: rare, Eligibility: all}},
		{"word_prefix", Query{Name: "fed cred un", Eligibility: all}},
		{"filtered", Query{Name: "bank", Eligibility: filtered}},
		{"unfiltered", Query{Eligibility: banklink.Eligibility{AllowRedirect: true, Providers: sandboxOnly}, Limit: 10}},
		{"substring", Query{Name: "ville", Eligibility: all}},
		{"one_letter", Query{Name: "s", Eligibility: all}},
		{"deep_page", Query{Name: "bank", Eligibility: all, After: deep.Institutions[deep.Count-1].Key}},
		{"typo", Query{Name: "fedearl", Eligibility: all}},
		{"typo_words", Query{Name: "fedral credti unoin", Eligibility: all}},
		{"no_match", Query{Name: "qqqqqqqq", Eligibility: all}},
		{"routing_number", Query{Name: "021000021", Eligibility: all}},
		{"routing_prefix", Query{Name: "0210", Eligibility: all}},
		{"routing_invalid", Query{Name: "021000022", Eligibility: all}},
	}
}

func BenchmarkSearch(b *testing.B) {
	ix := benchIndex()
	for _, bq := range benchQueries() {
		b.Run(bq.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ix.Search(bq.q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSearchLatency times every call and reports the median and 99th
// percentile, which ns/op (a mean) hides.
func BenchmarkSearchLatency(b *testing.B) {
	ix := benchIndex()
	for _, bq := range benchQueries() {
		b.Run(bq.name, func(b *testing.B) {
			times := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				if _, err := ix.Search(bq.q); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(start))
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(times[min(len(times)-1, len(times)*99/100)].Nanoseconds()), "p99-ns")
		})
	}
}

func BenchmarkCount(b *testing.B) {
	ix := benchIndex()
	e := banklink.Eligibility{
		Products:  banklink.NewProductSet(banklink.Balances, banklink.Transactions),
		Regions:   []banklink.Region{"US-CA", "US"},
		Providers: map[string]bool{sandbox.ProviderType: true},
	}
	b.Run("cached", func(b *testing.B) {
		ix.Count(e)
		b.ReportAllocs()
		for b.Loop() {
			ix.Count(e)
		}
	})
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ix.countEligible(e)
		}
	})
	b.Run("explain_uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ix.cacheMu.Lock()
			clear(ix.counts)
			clear(ix.explains)
			ix.cacheMu.Unlock()
			ix.Explain(e)
		}
	})
}

// BenchmarkNew measures a full rebuild, which Live does on every directory
// change.
func BenchmarkNew(b *testing.B) {
	skipHeavy(b)
	dir := benchDir()
	b.ReportAllocs()
	for range b.N {
		New(dir)
	}
}

// skipHeavy skips a benchmark whose iteration takes tens of milliseconds
// when a fixed iteration count meant for the search benchmarks
// (-benchtime=2000x) would make it run for minutes.
func skipHeavy(b *testing.B) {
	if b.N > 50 {
		b.Skipf("%d iterations of a whole-directory build take minutes; use -benchtime=1s or -benchtime=20x", b.N)
	}
}
