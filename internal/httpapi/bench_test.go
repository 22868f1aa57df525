package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"banklink"
	"banklink/internal/baseline"
	"banklink/internal/httpapi"
	"banklink/internal/sandbox"
)

// benchPair returns the real handler on a real SQLite file and the
// baseline handler, both authenticated by the returned key, over the full
// 20,000-institution directory.
func benchPair(b *testing.B) (real, base http.Handler, key string) {
	ts := newTestServer(b, "sqlite")
	if err := ts.store.UpsertInstitutions(b.Context(), sandbox.Directory(sandbox.DefaultSeed, sandbox.DefaultDirectorySize)); err != nil {
		b.Fatal(err)
	}
	if err := ts.dir.Refresh(b.Context()); err != nil {
		b.Fatal(err)
	}
	_, id, _, _ := banklink.ParseAPIKey(ts.key)
	k, err := ts.store.FindAPIKeyByID(b.Context(), id)
	if err != nil {
		b.Fatal(err)
	}
	cfg := ts.api.Config
	bl := httpapi.New(&baseline.Store{Store: ts.store, Key: k}, ts.tokens, ts.dir, nil, cfg)
	return ts.api.Handler(), bl.Handler(), ts.key
}

func serveConnectStart(b *testing.B, h http.Handler, key string) {
	req := httptest.NewRequest(http.MethodPost, "/bank-linking/connect/start", strings.NewReader(seedBody))
	req.Header.Set("Authorization", "BASIC "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Meld-Version", "2022-11-10")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusCreated {
		b.Errorf("status %d: %s", w.Code, w.Body) // Errorf: also called from RunParallel goroutines
	}
}

// BenchmarkConnectStart measures the connect/start handler on a real
// SQLite file against the storage-free baseline, in the same run. The
// "ratio" metric is baseline ns/op divided by real ns/op: the share of
// baseline throughput the real handler keeps (target >= 0.4).
func BenchmarkConnectStart(b *testing.B) {
	real, base, key := benchPair(b)
	var realNs, baseNs float64
	b.Run("baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			serveConnectStart(b, base, key)
		}
		baseNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("sqlite", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			serveConnectStart(b, real, key)
		}
		realNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	if realNs > 0 {
		b.ReportMetric(baseNs/realNs, "ratio")
	}
}

// BenchmarkConnectStartParallel is the same comparison with 16 concurrent
// callers, as a server under load sees them; SQLite's group commit
// shares commits between them.
func BenchmarkConnectStartParallel(b *testing.B) {
	real, base, key := benchPair(b)
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{{"baseline", base}, {"sqlite", real}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					serveConnectStart(b, tc.h, key)
				}
			})
		})
	}
}
