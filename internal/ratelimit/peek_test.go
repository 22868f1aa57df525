package ratelimit

import (
	"testing"
	"time"
)

func TestBlocked(t *testing.T) {
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	l := New(1.0/60, 2) // one a minute, bursts of 2
	if b, _ := l.Blocked("k", now); b {
		t.Fatal("an unseen key is blocked")
	}
	l.Allow("k", now)
	if b, _ := l.Blocked("k", now); b {
		t.Fatal("blocked with a token left")
	}
	l.Allow("k", now)
	b, wait := l.Blocked("k", now)
	if !b || wait != time.Minute {
		t.Fatalf("Blocked = %v, %v; want true, 1m", b, wait)
	}
	// Peeking takes nothing: still blocked the same, then free after a minute.
	if b, wait := l.Blocked("k", now.Add(30*time.Second)); !b || wait != 30*time.Second {
		t.Errorf("after 30s: %v, %v", b, wait)
	}
	if b, _ := l.Blocked("k", now.Add(time.Minute)); b {
		t.Error("still blocked after a minute")
	}
	if b, _ := New(0, 0).Blocked("k", now); b {
		t.Error("a zero rate blocks")
	}
}
