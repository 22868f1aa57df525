package ratelimit

import (
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
