// Package ratelimit keeps token buckets per key (an API key, a widget
// session). Limits are per process: with several replicas each enforces
// its own, which bounds abuse without a shared store on the hot path.
package ratelimit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter holds one bucket per key.
type Limiter struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// maxKeys bounds memory: past it the buckets start over (every key gets a
// full bucket once more, which errs on the side of letting traffic in).
const maxKeys = 50000

// New returns a limiter allowing perSecond requests per key on average
// and burst at once. perSecond <= 0 disables it.
func New(perSecond float64, burst int) *Limiter {
	return &Limiter{rate: rate.Limit(perSecond), burst: max(burst, 1), buckets: map[string]*rate.Limiter{}}
}

// Allow takes a token for key at now. When none is left it returns false
// and how long until one is.
func (l *Limiter) Allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil || l.rate <= 0 {
		return true, 0
	}
	l.mu.Lock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxKeys {
			l.buckets = map[string]*rate.Limiter{}
		}
		b = rate.NewLimiter(l.rate, l.burst)
		l.buckets[key] = b
	}
	l.mu.Unlock()
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// RetryAfter renders a wait as whole seconds for the Retry-After header.
func RetryAfter(d time.Duration) int { return int(math.Ceil(max(d, time.Second).Seconds())) }
