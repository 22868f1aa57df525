package ratelimit

import (
	"time"
)

// Blocked reports, without taking a token, whether key has no token left
// at now, and how long until it has one. Callers that count only some
// events (the dashboard's failed sign-ins) check Blocked first and call
// Allow when the event happens.
func (l *Limiter) Blocked(key string, now time.Time) (bool, time.Duration) {
	if l == nil || l.rate <= 0 {
		return false, 0
	}
	l.mu.Lock()
	b, ok := l.buckets[hashKey(key)]
	l.mu.Unlock()
	if !ok {
		return false, 0
	}
	tokens := b.TokensAt(now)
	if tokens >= 1 {
		return false, 0
	}
	return true, time.Duration((1 - tokens) / float64(l.rate) * float64(time.Second))
}
