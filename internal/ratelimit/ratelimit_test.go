package ratelimit

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestAllow(t *testing.T) {
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	l := New(2, 3) // 2 per second, bursts of 3
	for i := range 3 {
		if ok, _ := l.Allow("k", now); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := l.Allow("k", now)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("4th = %v, wait %v; want refused, 500ms", ok, wait)
	}
	if ok, _ := l.Allow("other", now); !ok {
		t.Error("keys share a bucket")
	}
	if ok, _ := l.Allow("k", now.Add(500*time.Millisecond)); !ok {
		t.Error("token not refilled after 500ms")
	}
	if ok, _ := New(0, 0).Allow("k", now); !ok {
		t.Error("a zero rate must disable limiting")
	}
	if got := RetryAfter(200 * time.Millisecond); got != 1 {
		t.Errorf("RetryAfter = %d", got)
	}
}

// TestLongKeysKeepFixedMemory: a limiter keyed by strings from requests
// holds a fixed-size hash per key, not the string. 20,000 keys of 4 KiB
// used to keep 80 MB.
func TestLongKeysKeepFixedMemory(t *testing.T) {
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	l := New(1, 5)
	before := heap()
	const n = 20000
	for i := range n {
		l.Allow(fmt.Sprintf("%08d", i)+strings.Repeat("k", 4<<10), now)
	}
	after := heap()
	if l.Len() != n {
		t.Fatalf("Len = %d, want %d", l.Len(), n)
	}
	growth := int64(after) - int64(before)
	t.Logf("%d keys of 4 KiB: heap %+d KiB", n, growth>>10)
	if growth > 16<<20 {
		t.Errorf("heap grew by %d MiB for %d keys; want under 16 MiB", growth>>20, n)
	}
	runtime.KeepAlive(l)
}

// TestFullTableKeepsActiveBuckets: when the table is full, refilled
// buckets make room; a key that is being limited stays limited.
func TestFullTableKeepsActiveBuckets(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	l := New(1.0/3600, 1) // one an hour
	for i := range MaxKeys - 1 {
		l.Allow(fmt.Sprint("old", i), t0.Add(-2*time.Hour)) // refilled by t0
	}
	if ok, _ := l.Allow("hot", t0); !ok {
		t.Fatal("first request of hot refused")
	}
	// The table is full: the next new key sweeps it.
	if ok, _ := l.Allow("new", t0); !ok {
		t.Fatal("a new key refused")
	}
	if n := l.Len(); n != 2 {
		t.Errorf("after the sweep Len = %d, want 2 (hot and new)", n)
	}
	if ok, _ := l.Allow("hot", t0); ok {
		t.Error("the sweep reset a key that was being limited")
	}

	// A table full of active buckets starts over rather than sweeping at
	// every new key.
	l = New(1.0/3600, 1)
	for i := range MaxKeys {
		l.Allow(fmt.Sprint("k", i), t0)
	}
	l.Allow("one more", t0)
	if n := l.Len(); n != 1 {
		t.Errorf("a full table of active buckets: Len = %d after a new key, want 1", n)
	}
}

func TestClientKey(t *testing.T) {
	for _, tt := range []struct{ remote, want string }{
		{"192.0.2.7:51234", "192.0.2.7"},
		{"[::ffff:192.0.2.7]:443", "192.0.2.7"},
		{"[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2::1]:80", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:80", "fe80::/64"},
		{"192.0.2.7", "192.0.2.7"},
		{"@", "unknown"},
	} {
		if got := ClientKey(tt.remote); got != tt.want {
			t.Errorf("ClientKey(%q) = %q, want %q", tt.remote, got, tt.want)
		}
	}
}
