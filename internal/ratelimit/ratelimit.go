// Package ratelimit keeps token buckets per key (an API key, a widget
// session, a client address). Limits are per process: with several
// replicas each enforces its own, which bounds abuse without a shared
// store on the hot path.
package ratelimit

import (
	"crypto/sha256"
	"math"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter holds one bucket per key. Keys are kept as fixed-size hashes,
// never as the caller's string, so the memory a limiter holds is bounded
// in bytes (MaxKeys buckets of a few hundred bytes) whatever its callers
// pass: a key may come straight from a request.
type Limiter struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[keyHash]*rate.Limiter
}

// keyHash is a key's identity: 128 bits of SHA-256, so two keys share a
// bucket only by a collision nobody can aim for.
type keyHash [16]byte

func hashKey(key string) keyHash {
	sum := sha256.Sum256([]byte(key))
	return keyHash(sum[:16])
}

// MaxKeys bounds a limiter's table: about 7 MB at some 130 bytes a bucket
// (TestLongKeysKeepFixedMemory). When it is full, buckets that have
// refilled (which hold nothing a new bucket would not) are dropped; if
// that frees too little, every bucket starts over, which errs on the side
// of letting traffic in.
const MaxKeys = 50000

// New returns a limiter allowing perSecond requests per key on average
// and burst at once. perSecond <= 0 disables it.
func New(perSecond float64, burst int) *Limiter {
	return &Limiter{rate: rate.Limit(perSecond), burst: max(burst, 1), buckets: map[keyHash]*rate.Limiter{}}
}

// Allow takes a token for key at now. When none is left it returns false
// and how long until one is.
func (l *Limiter) Allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil || l.rate <= 0 {
		return true, 0
	}
	h := hashKey(key)
	l.mu.Lock()
	b, ok := l.buckets[h]
	if !ok {
		if len(l.buckets) >= MaxKeys {
			l.evict(now)
		}
		b = rate.NewLimiter(l.rate, l.burst)
		l.buckets[h] = b
	}
	l.mu.Unlock()
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// evict makes room in a full table: it drops the refilled buckets, and
// starts over when more than three quarters are still in use. Each sweep
// so frees at least a quarter of the table, which keeps its cost per new
// key constant however the table is filled.
func (l *Limiter) evict(now time.Time) {
	for h, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, h)
		}
	}
	if len(l.buckets) > MaxKeys*3/4 {
		l.buckets = map[keyHash]*rate.Limiter{}
	}
}

// Len returns how many buckets the limiter holds.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// RetryAfter renders a wait as whole seconds for the Retry-After header.
func RetryAfter(d time.Duration) int { return int(math.Ceil(max(d, time.Second).Seconds())) }

// ClientKey names the client of a request by its address (an
// http.Request's RemoteAddr): the IP for IPv4, the /64 network for IPv6,
// since one IPv6 host commonly holds a whole /64 and could otherwise
// take a fresh key per request. Behind a proxy every client shares the
// proxy's address; X-Forwarded-For is not trusted, since any client can
// send it.
func ClientKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "unknown"
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
