package dirsync_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"banklink"
	"banklink/internal/dirsync"
	"banklink/internal/mx"
	"banklink/internal/mx/fakemx"
	"banklink/internal/plaid"
	"banklink/internal/plaid/fakeplaid"
)

// scripted is a Lister of two pages whose reads fail with its errors in
// turn before they succeed.
type scripted struct {
	errs  []error
	reads int
}

func (s *scripted) Institutions(ctx context.Context) ([]*banklink.Institution, error) {
	var out []*banklink.Institution
	for page := range 2 {
		err := dirsync.Page(ctx, func() error {
			s.reads++
			if len(s.errs) > 0 {
				err := s.errs[0]
				s.errs = s.errs[1:]
				return err
			}
			out = append(out, &banklink.Institution{Name: fmt.Sprint("Listed ", page)})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// retryAfter is a rate limit naming when to come back, as mx's does.
type retryAfter struct{ at time.Time }

func (e *retryAfter) Error() string             { return "rate limited" }
func (e *retryAfter) RetryAfterTime() time.Time { return e.at }
func rateLimited(at time.Time) error {
	return &banklink.Error{Code: banklink.ERATELIMITED, Err: &retryAfter{at}}
}
func providerDown() error {
	return &banklink.ProviderError{Reason: banklink.LoginProviderDown, Retryable: true}
}
func refused() error { return &banklink.Error{Code: banklink.EPROVIDER, Reason: "MX_UNAUTHORIZED"} }

// TestFetchRetries: which failures are retried, and after how long.
func TestFetchRetries(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		errs  []error
		waits []time.Duration
		ok    bool
	}{
		{"no failure", nil, nil, true},
		{"provider down, then up", []error{providerDown(), providerDown()}, []time.Duration{time.Second, 2 * time.Second}, true},
		{"a rate limit's Retry-After is honoured", []error{rateLimited(now.Add(90 * time.Second))}, []time.Duration{90 * time.Second}, true},
		{"a Retry-After shorter than the back-off", []error{providerDown(), rateLimited(now.Add(time.Second))}, []time.Duration{time.Second, 2 * time.Second}, true},
		{"back-off is capped", []error{providerDown(), providerDown(), providerDown(), providerDown()},
			[]time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second}, true},
		{"attempts run out", []error{providerDown(), providerDown(), providerDown(), providerDown(), providerDown()},
			[]time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second}, false},
		{"refused credentials are not retried", []error{refused()}, nil, false},
		{"a Retry-After beyond the longest wait is not waited for", []error{rateLimited(now.Add(time.Hour))}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &scripted{errs: slices.Clone(tc.errs)}
			var waits []time.Duration
			list, err := dirsync.Fetch(t.Context(), l, dirsync.Retry{Attempts: 5, Backoff: time.Second, MaxBackoff: 5 * time.Second,
				MaxWait: 10 * time.Minute, Now: func() time.Time { return now },
				Sleep: func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil }})
			if (err == nil) != tc.ok || (tc.ok && len(list) != 2) {
				t.Errorf("Fetch = %d institutions, %v", len(list), err)
			}
			// A failed page is read again, not the pages before it.
			if want := 2 + len(waits); tc.ok && l.reads != want {
				t.Errorf("%d page reads, want %d", l.reads, want)
			}
			if !slices.Equal(waits, tc.waits) {
				t.Errorf("waited %v, want %v", waits, tc.waits)
			}
		})
	}
	t.Run("the context ends the wait", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := dirsync.Fetch(ctx, &scripted{errs: []error{providerDown()}}, dirsync.Retry{})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Fetch after cancel = %v", err)
		}
	})
}

// TestFetchMXDirectory: MX's directory read through a 429 (with
// Retry-After) and a 503 on the way, as at a real start.
func TestFetchMXDirectory(t *testing.T) {
	fake := fakemx.New(t)
	p := mx.New(mx.Config{ClientID: fakemx.ClientID, APIKey: fakemx.APIKey, BaseURL: fake.URL, Now: fake.Now})
	fake.Fail(fakemx.Failure{Method: "GET", Path: "/institutions", Status: http.StatusTooManyRequests, Message: "Rate limit exceeded", RetryAfter: "30"})
	fake.Fail(fakemx.Failure{Method: "GET", Path: "/institutions", Status: http.StatusServiceUnavailable, Message: "Down for maintenance"})
	var waits []time.Duration
	list, err := dirsync.Fetch(t.Context(), p, dirsync.Retry{Now: fake.Now,
		Sleep: func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil }})
	if err != nil || len(list) != fakemx.DirectorySize-1 {
		t.Fatalf("Fetch = %d institutions, %v", len(list), err)
	}
	if len(waits) != 2 || waits[0] < 29*time.Second || waits[0] > 30*time.Second || waits[1] != 2*dirsync.DefaultBackoff {
		t.Errorf("waited %v, want MX's 30s, then twice the back-off", waits)
	}
	if pages := (fakemx.DirectorySize + 99) / 100; fake.Calls("GET /institutions") != pages+2 {
		t.Errorf("%d requests for %d pages and 2 failures", fake.Calls("GET /institutions"), pages)
	}
}

// TestFetchPlaidDirectory: Plaid's directory read under a rate limit of
// two pages a minute; the page refused is read again once the limit
// allows (the fake's clock moves with the waits).
func TestFetchPlaidDirectory(t *testing.T) {
	fp := fakeplaid.New(t)
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	fp.Now = now
	fp.InstitutionsPageLimit = 3
	fp.SetRateLimit("/institutions/get", 2)
	p, err := plaid.New(plaid.Config{ClientID: fakeplaid.ClientID, Secret: fakeplaid.Secret, BaseURL: fp.URL, Secrets: nopSecrets{}})
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	list, err := dirsync.Fetch(t.Context(), p, dirsync.Retry{Backoff: 30 * time.Second, Now: now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			clock.Add(int64(d))
			return nil
		}})
	if err != nil || len(list) != len(fp.Institutions()) {
		t.Fatalf("Fetch = %d institutions of %d, %v", len(list), len(fp.Institutions()), err)
	}
	if len(waits) == 0 {
		t.Error("never rate-limited: the test proves nothing")
	}
}

// nopSecrets is a SecretStore for a provider that only reads directories.
type nopSecrets struct{}

func (nopSecrets) EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error) {
	return value, nil
}
