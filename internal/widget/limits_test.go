package widget_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"banklink/internal/sandbox"
	"banklink/internal/widget"
)

func withRateLimit(c *widget.Config) { c.RateLimit, c.RateBurst = 10, 40 }

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestBogusTokensKeepNoMemory is the memory-exhaustion attack on the
// widget API: every request carries a unique, large, invalid bearer
// token. Nothing of an unverified token may outlive its request; the
// limiter used to keep each one as a map key (10,000 requests here kept
// about 100 MB).
func TestBogusTokensKeepNoMemory(t *testing.T) {
	st := newStackConfigured(t, []string{sandbox.ProviderType}, nil, withRateLimit)
	send := func(i, size int) int {
		tok := fmt.Sprintf("%08d.", i) + strings.Repeat("x", size)
		req, _ := http.NewRequest("GET", st.Srv.URL+"/connect/api/session", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := st.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 50 { // warm up connections, validators and the limiter
		send(-i, 100)
	}
	before := heapInUse()
	const n = 10000
	for i := range n {
		size := 4 << 10 // within the longest real token: parsed and refused
		if i%10 == 0 {
			size = 64 << 10 // absurdly long: refused unread
		}
		if status := send(i, size); status != http.StatusUnauthorized && status != http.StatusTooManyRequests {
			t.Fatalf("request %d: %d", i, status)
		}
	}
	after := heapInUse()
	growth := int64(after) - int64(before)
	t.Logf("heap in use: %d KiB before, %d KiB after %d requests (%+d KiB)", before>>10, after>>10, n, growth>>10)
	// The requests sent about 100 MB of tokens; a few MB of growth is
	// the request log and the allocator's noise.
	if growth > 16<<20 {
		t.Errorf("heap grew by %d MiB after %d requests with bogus tokens; want under 16 MiB", growth>>20, n)
	}

	// The flood spent this client's budget for failed tokens only: a
	// real token from the same address still works, with its own
	// connection's budget.
	conn := st.Start(`{"externalCustomerId":"after-flood","products":["BALANCES"]}`)
	if status, body := st.Call(conn.ConnectToken, "GET", "session", ""); status != http.StatusOK {
		t.Errorf("a valid token after the flood: %d %v", status, body)
	}
	if status, body := st.Call(strings.Repeat("x", 9<<10), "GET", "session", ""); status != http.StatusUnauthorized || body["reason"] != "TOKEN_MALFORMED" {
		t.Errorf("an over-long token: %d %v", status, body)
	}
}

// TestRateLimitKeys: verified tokens are limited per connection, tokens
// that fail verification per client address, each with its own budget.
func TestRateLimitKeys(t *testing.T) {
	st := newStackConfigured(t, []string{sandbox.ProviderType}, nil, func(c *widget.Config) { c.RateLimit, c.RateBurst = 1.0/3600, 3 })
	a := st.Start(`{"externalCustomerId":"a","products":["BALANCES"]}`)
	b := st.Start(`{"externalCustomerId":"b","products":["BALANCES"]}`)
	for i := range 3 {
		if status, body := st.Call("bogus."+fmt.Sprint(i), "GET", "session", ""); status != http.StatusUnauthorized {
			t.Fatalf("bad token %d: %d %v", i, status, body)
		}
	}
	if status, body := st.Call("bogus.again", "GET", "session", ""); status != http.StatusTooManyRequests || body["code"] != "RATE_LIMITED" {
		t.Errorf("4th bad token (another string, same client): %d %v", status, body)
	}
	for i := range 3 {
		if status, body := st.Call(a.ConnectToken, "GET", "session", ""); status != http.StatusOK {
			t.Fatalf("connection a, request %d: %d %v", i, status, body)
		}
	}
	if status, body := st.Call(a.ConnectToken, "GET", "session", ""); status != http.StatusTooManyRequests {
		t.Errorf("connection a, 4th request: %d %v", status, body)
	}
	if status, body := st.Call(b.ConnectToken, "GET", "session", ""); status != http.StatusOK {
		t.Errorf("connection b after a is limited: %d %v", status, body)
	}
}

// TestDemoRateLimit: the demo's endpoints need no key, so each client
// address gets a small budget (30 starts used to take 0.04 s).
func TestDemoRateLimit(t *testing.T) {
	st := newStack(t)
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	st.Widget.Now = func() time.Time { return now }
	post := func() (int, map[string]any) {
		req, _ := http.NewRequest("POST", st.Srv.URL+"/demo/api/start", strings.NewReader(`{"externalCustomerId":"demo"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := st.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	var id string
	for i := range widget.DemoRateBurst - 1 {
		status, body := post()
		if status != http.StatusCreated {
			t.Fatalf("start %d: %d %v", i, status, body)
		}
		id, _ = body["connectionId"].(string)
	}
	// Reading a connection takes from the same budget.
	resp, err := st.Client.Get(st.Srv.URL + "/demo/api/connections/" + id)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("read: %d", resp.StatusCode)
	}
	if status, body := post(); status != http.StatusTooManyRequests || body["code"] != "RATE_LIMITED" {
		t.Fatalf("start past the burst: %d %v", status, body)
	}
	resp, err = st.Client.Get(st.Srv.URL + "/demo/api/connections/" + id)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("read past the burst: %d", resp.StatusCode)
	}
	now = now.Add(2 * time.Second) // one more every 2 s
	if status, body := post(); status != http.StatusCreated {
		t.Errorf("start 2 s later: %d %v", status, body)
	}
}
