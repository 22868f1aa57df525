package httpapi_test

import (
	"net/http"
	"sync"
	"testing"

	"banklink/internal/linking"
)

func TestIdempotencyKey(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			ts := newTestServer(t, dialect)
			key := map[string]string{"Idempotency-Key": "4f9c2b1e-retry-1"}
			first := ts.do(call{path: "/bank-linking/connect/start", body: seedBody, headers: key})
			if first.status != 201 || first.header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("first: %d %v", first.status, first.header)
			}
			before := countConnections(t, ts)
			again := ts.do(call{path: "/bank-linking/connect/start", body: seedBody, headers: key})
			if again.status != 201 || string(again.body) != string(first.body) || again.header.Get("Idempotent-Replayed") != "true" ||
				again.header.Get("Meld-Version") != "2022-11-10" {
				t.Errorf("replay: %d %v %s", again.status, again.header, again.body)
			}
			if after := countConnections(t, ts); after != before {
				t.Errorf("replay created a connection: %d -> %d", before, after)
			}
			// The same key with another body is refused.
			other := ts.do(call{path: "/bank-linking/connect/start", body: `{"externalCustomerId":"someone-else"}`, headers: key})
			if other.status != 409 || other.errorBody(t).Code != "CONFLICT" {
				t.Errorf("different body: %d %s", other.status, other.body)
			}
			// Client errors are stored too; the key is tied to its answer.
			bad := map[string]string{"Idempotency-Key": "bad-request-key"}
			b1 := ts.do(call{path: "/bank-linking/connect/start", body: `{"products":["X"]}`, headers: bad})
			b2 := ts.do(call{path: "/bank-linking/connect/start", body: `{"products":["X"]}`, headers: bad})
			if b1.status != 400 || b2.status != 400 || b2.header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("stored 400: %d %d %v", b1.status, b2.status, b2.header)
			}
			if r := ts.do(call{path: "/bank-linking/connect/start", body: seedBody, headers: map[string]string{"Idempotency-Key": "has space"}}); r.status != 400 {
				t.Errorf("invalid key: %d", r.status)
			}
			// Keys are per account: another key of the same account shares
			// them, as Stripe does; different keys never collide.
			if r := ts.do(call{path: "/bank-linking/connect/start", body: seedBody, headers: map[string]string{"Idempotency-Key": "another"}}); r.status != 201 || string(r.body) == string(first.body) {
				t.Errorf("new key: %d", r.status)
			}
		})
	}
}

// TestIdempotencyConcurrentDuplicates fires the same request with the same
// key at once: one runs, the others wait for it and replay its answer.
func TestIdempotencyConcurrentDuplicates(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	before := countConnections(t, ts)
	const n = 8
	var wg sync.WaitGroup
	bodies := make([]string, n)
	statuses := make([]int, n)
	for i := range n {
		wg.Go(func() {
			r := ts.do(call{path: "/bank-linking/connect/start", body: seedBody, headers: map[string]string{"Idempotency-Key": "same-key-racing"}})
			bodies[i], statuses[i] = string(r.body), r.status
		})
	}
	wg.Wait()
	for i := range n {
		if statuses[i] != http.StatusCreated || bodies[i] != bodies[0] {
			t.Fatalf("request %d: %d %s", i, statuses[i], bodies[i])
		}
	}
	if after := countConnections(t, ts); after != before+1 {
		t.Errorf("%d connections created, want 1", after-before)
	}
	var resp linking.StartResponse
	ts.do(call{path: "/bank-linking/connect/start", body: seedBody, headers: map[string]string{"Idempotency-Key": "same-key-racing"}}).json(t, &resp)
	if resp.ID == "" {
		t.Error("replay lost the body")
	}
}
