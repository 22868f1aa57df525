package dirsync

import (
	"context"
	"errors"
	"time"

	"banklink"
)

// Lister is a provider with an institution directory of its own
// (Plaid's, MX's): Institutions returns all of it, as Merge takes it.
type Lister interface {
	Institutions(ctx context.Context) ([]*banklink.Institution, error)
}

// Defaults of Retry.
const (
	DefaultAttempts   = 6
	DefaultBackoff    = 2 * time.Second
	DefaultMaxBackoff = 2 * time.Minute
	DefaultMaxWait    = 10 * time.Minute
)

// Retry says how Fetch retries a directory read (a page of it) the
// provider turned down for now.
type Retry struct {
	// Attempts is how many times a page is read at most
	// (DefaultAttempts when zero).
	Attempts int
	// Backoff is the wait before the second read; it doubles after every
	// failure, up to MaxBackoff (DefaultBackoff and DefaultMaxBackoff
	// when zero). A provider's Retry-After is waited for instead when it
	// is longer.
	Backoff, MaxBackoff time.Duration
	// MaxWait is the longest single wait Fetch accepts (DefaultMaxWait
	// when zero): a provider asking for more is not retried now.
	MaxWait time.Duration
	// Sleep waits d or until ctx ends (a timer when nil).
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// OnRetry, when set, is told of each failure before its retry.
	OnRetry func(attempt int, wait time.Duration, err error)
}

// Fetch reads l's directory, retrying (per r) the failures that may
// pass: rate limits (429) and the provider down or not answering (5xx,
// timeouts), honouring the wait a rate limit names (Retry-After).
// Anything else (refused credentials, a malformed request) returns at
// once, as does the last failure when the attempts run out.
//
// Providers page through their directories with Page, which retries the
// page that failed: a rate limit on the thirteenth page costs one more
// read of it, not twelve pages read again to meet the same limit.
func Fetch(ctx context.Context, l Lister, r Retry) ([]*banklink.Institution, error) {
	if r.Attempts <= 0 {
		r.Attempts = DefaultAttempts
	}
	if r.Backoff <= 0 {
		r.Backoff = DefaultBackoff
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = DefaultMaxBackoff
	}
	if r.MaxWait <= 0 {
		r.MaxWait = DefaultMaxWait
	}
	if r.Sleep == nil {
		r.Sleep = sleep
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	return l.Institutions(context.WithValue(ctx, retryKey{}, r))
}

type retryKey struct{}

// Page makes one call of a directory read (a page of it) and, inside
// Fetch, retries it as Fetch's Retry says. Elsewhere it calls once.
// call's errors must be banklink's (the provider's mapped errors):
// they say what may pass.
func Page(ctx context.Context, call func() error) error {
	r, ok := ctx.Value(retryKey{}).(Retry)
	if !ok {
		return call()
	}
	backoff := r.Backoff
	for attempt := 1; ; attempt++ {
		err := call()
		if err != nil && ctx.Err() != nil {
			// Shutting down: the failure says nothing of the provider.
			return ctx.Err()
		}
		if err == nil || attempt >= r.Attempts || !retryable(err) {
			return err
		}
		wait := backoff
		if at, ok := retryAt(err); ok {
			wait = max(wait, at.Sub(r.Now()))
		}
		if wait > r.MaxWait {
			return err
		}
		if r.OnRetry != nil {
			r.OnRetry(attempt, wait, err)
		}
		if err := r.Sleep(ctx, wait); err != nil {
			return err
		}
		backoff = min(2*backoff, r.MaxBackoff)
	}
}

// retryable reports whether err may pass: a rate limit, the provider (or
// the institution behind it) down, not answering.
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if pe, ok := errors.AsType[*banklink.ProviderError](err); ok {
		return pe.Retryable && (pe.Reason == banklink.LoginProviderDown || pe.Reason == banklink.LoginInstitutionDown)
	}
	if be, ok := errors.AsType[*banklink.Error](err); ok {
		return be.Code == banklink.ERATELIMITED || be.Code == banklink.EUNAVAILABLE
	}
	return false
}

// retryAt is when a rate-limited provider said to come back, found by
// method as the refresh endpoint finds it (mx.RateLimitError).
func retryAt(err error) (time.Time, bool) {
	var ra interface {
		error
		RetryAfterTime() time.Time
	}
	if errors.As(err, &ra) {
		return ra.RetryAfterTime(), true
	}
	return time.Time{}, false
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
