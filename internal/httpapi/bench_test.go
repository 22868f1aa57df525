package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"banklink"
	"banklink/internal/httpapi"
	"banklink/internal/sandbox"
)

// nullStore is the benchmark baseline: the same handler, JSON and JWT
// work, with storage replaced by memory. It embeds the real store only to
// satisfy the interface; the two methods connect/start calls are
// overridden.
type nullStore struct {
	banklink.Store
	key  *banklink.APIKey
	next atomic.Int64
}

func (n *nullStore) FindAPIKeyByID(ctx context.Context, id string) (*banklink.APIKey, error) {
	if id != n.key.ID {
		return nil, banklink.Errorf(banklink.ENOTFOUND, "API key not found.")
	}
	return n.key, nil
}

func (n *nullStore) StartConnection(ctx context.Context, cust *banklink.Customer, conn *banklink.Connection) error {
	conn.CustomerID, conn.ExternalCustomerID = cust.ID, cust.ExternalID
	conn.Key = banklink.EncodeBase58([]byte{byte(n.next.Add(1))}, 11)
	return nil
}

// benchPair returns the real handler on a real SQLite file and the
// baseline handler, both authenticated by the returned key, over the full
// 20,000-institution directory.
func benchPair(b *testing.B) (real, baseline http.Handler, key string) {
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
	base := httpapi.New(&nullStore{Store: ts.store, key: k}, ts.tokens, ts.dir, nil, cfg)
	return ts.api.Handler(), base.Handler(), ts.key
}

func serveConnectStart(b *testing.B, h http.Handler, key string) {
	req := httptest.NewRequest(http.MethodPost, "/bank-linking/connect/start", strings.NewReader(seedBody))
	req.Header.Set("Authorization", "BASIC "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Meld-Version", "2022-11-10")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusCreated {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
}

// BenchmarkConnectStart measures the connect/start handler on a real
// SQLite file against the storage-free baseline, in the same run. The
// "ratio" metric is baseline ns/op divided by real ns/op: the share of
// baseline throughput the real handler keeps (target >= 0.4).
func BenchmarkConnectStart(b *testing.B) {
	real, baseline, key := benchPair(b)
	var realNs, baseNs float64
	b.Run("baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			serveConnectStart(b, baseline, key)
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
	real, baseline, key := benchPair(b)
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{{"baseline", baseline}, {"sqlite", real}} {
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
