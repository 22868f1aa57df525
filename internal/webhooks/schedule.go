package webhooks

import "time"

// Meld's retry schedule: about a minute after the first failure, doubling
// up to an hour, then hourly, for up to three days.
const (
	FirstRetry   = time.Minute
	MaxRetryGap  = time.Hour
	RetryFor     = 72 * time.Hour
	DeliverLimit = 10 * time.Second
)

// RetryDelay is the wait after the n-th failed attempt (n >= 1).
func RetryDelay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if n > 7 { // 1m << 6 already exceeds an hour
		return MaxRetryGap
	}
	return min(FirstRetry<<(n-1), MaxRetryGap)
}

// NextAttempt returns when to retry a delivery whose first attempt was at
// first and whose n-th attempt just failed at now, or nil when the
// three days are over and the delivery fails for good.
func NextAttempt(first, now time.Time, n int) *time.Time {
	next := now.Add(RetryDelay(n))
	if next.Sub(first) > RetryFor {
		return nil
	}
	return &next
}
