package mx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"banklink"
)

func TestClassify(t *testing.T) {
	type want struct {
		kind      statusKind
		reason    string
		retryable bool
	}
	ok, working := want{kind: statusOK}, want{kind: statusWorking}
	failed := func(reason string, retryable bool) want { return want{statusFailed, reason, retryable} }
	for _, tc := range []struct {
		status      string
		login, data want
	}{
		{StatusConnected, ok, ok},
		{StatusCreated, working, working},
		{StatusReconnected, working, working},
		{StatusUpdated, working, working},
		{StatusResumed, working, working},
		{StatusPending, failed(banklink.LoginOAuthDenied, true), failed(banklink.LoginInvalidCredentials, false)},
		// Only a new login fixes these: RECONNECT_REQUIRED on a linked
		// connection.
		{StatusDenied, failed(banklink.LoginInvalidCredentials, true), failed(banklink.LoginInvalidCredentials, false)},
		{StatusPrevented, failed(banklink.LoginInvalidCredentials, true), failed(banklink.LoginInvalidCredentials, false)},
		{StatusImpaired, failed(banklink.LoginInvalidCredentials, true), failed(banklink.LoginInvalidCredentials, false)},
		{StatusImported, failed(banklink.LoginInvalidCredentials, true), failed(banklink.LoginInvalidCredentials, false)},
		{StatusChallenged, failed(LoginMFANotCompleted, true), failed(banklink.LoginInvalidCredentials, false)},
		{StatusRejected, failed(banklink.LoginInvalidMFA, true), failed(banklink.LoginInvalidCredentials, false)},
		{StatusExpired, failed(banklink.LoginInvalidMFA, true), failed(banklink.LoginInvalidCredentials, false)},
		{StatusClosed, failed(banklink.LoginInvalidCredentials, false), failed(banklink.LoginInvalidCredentials, false)},
		// Customer action at the institution.
		{StatusLocked, failed(banklink.LoginLocked, false), failed(banklink.LoginLocked, false)},
		{StatusImpeded, failed(banklink.LoginLocked, false), failed(banklink.LoginLocked, false)},
		// The institution's or MX's side: DEGRADED, may heal.
		{StatusDegraded, failed(banklink.LoginInstitutionDown, true), failed(banklink.LoginInstitutionDown, true)},
		{StatusDelayed, failed(banklink.LoginInstitutionDown, true), failed(banklink.LoginInstitutionDown, true)},
		{StatusDisconnected, failed(banklink.LoginInstitutionDown, true), failed(banklink.LoginInstitutionDown, true)},
		{StatusDisabled, failed(banklink.LoginInstitutionDown, true), failed(banklink.LoginInstitutionDown, true)},
		{StatusDiscontinued, failed(banklink.LoginInstitutionDown, false), failed(banklink.LoginInstitutionDown, false)},
		{StatusFailed, failed(banklink.LoginProviderDown, true), failed(banklink.LoginProviderDown, true)},
		{"", failed(banklink.LoginProviderDown, true), failed(banklink.LoginProviderDown, true)},
		{"SOMETHING_NEW", failed(banklink.LoginProviderDown, true), failed(banklink.LoginProviderDown, true)},
	} {
		for _, ph := range []struct {
			name string
			ph   phase
			want want
		}{{"login", phaseLogin, tc.login}, {"data", phaseData, tc.data}} {
			t.Run(tc.status+"/"+ph.name, func(t *testing.T) {
				kind, err := classify(tc.status, ph.ph)
				if kind != ph.want.kind {
					t.Fatalf("kind = %v, want %v", kind, ph.want.kind)
				}
				if ph.want.kind != statusFailed {
					if err != nil {
						t.Fatalf("err = %v", err)
					}
					return
				}
				pe, isPE := errors.AsType[*banklink.ProviderError](err)
				if !isPE || pe.Reason != ph.want.reason || pe.Retryable != ph.want.retryable || pe.DisplayMessage == "" {
					t.Fatalf("err = %#v, want %s retryable=%v", err, ph.want.reason, ph.want.retryable)
				}
			})
		}
	}
}

func TestMapError(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	type want struct {
		code, reason string // code for *banklink.Error, reason for either
		retryAt      time.Time
	}
	pe := func(reason string) want { return want{reason: reason} }
	for _, tc := range []struct {
		name string
		err  error
		ph   phase
		want want
	}{
		{"429 with seconds", &APIError{Status: 429, RetryAfter: "120"}, phaseData, want{banklink.ERATELIMITED, ReasonRateLimited, now.Add(2 * time.Minute)}},
		{"429 with a date", &APIError{Status: 429, RetryAfter: "Sun, 01 Mar 2026 13:00:00 GMT"}, phaseLogin, want{banklink.ERATELIMITED, ReasonRateLimited, now.Add(time.Hour)}},
		{"429 without Retry-After", &APIError{Status: 429}, phaseData, want{banklink.ERATELIMITED, ReasonRateLimited, now.Add(time.Minute)}},
		{"401 bad keys", &APIError{Status: 401, Message: "Invalid MX-API-Key"}, phaseData, want{code: banklink.EPROVIDER, reason: "MX_UNAUTHORIZED"}},
		{"403 not allow-listed", &APIError{Status: 403}, phaseLogin, want{code: banklink.EPROVIDER, reason: "MX_HTTP_403"}},
		{"400 bad request", &APIError{Status: 400}, phaseLogin, want{code: banklink.EPROVIDER, reason: "MX_HTTP_400"}},
		{"406 bad version", &APIError{Status: 406}, phaseData, want{code: banklink.EPROVIDER, reason: "MX_HTTP_406"}},
		{"404 member gone", &APIError{Status: 404}, phaseData, pe(banklink.LoginInvalidCredentials)},
		{"404 during login", &APIError{Status: 404}, phaseLogin, pe(banklink.LoginOAuthDenied)},
		{"500", &APIError{Status: 500}, phaseData, pe(banklink.LoginProviderDown)},
		{"503 maintenance", &APIError{Status: 503}, phaseLogin, pe(banklink.LoginProviderDown)},
		{"transport", fmt.Errorf("dial tcp: connection refused"), phaseData, pe(banklink.LoginProviderDown)},
		{"timeout", context.DeadlineExceeded, phaseData, pe(banklink.LoginProviderDown)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := mapError(tc.err, tc.ph, now)
			if tc.want.code != "" {
				be, ok := errors.AsType[*banklink.Error](err)
				if !ok || be.Code != tc.want.code || be.Reason != tc.want.reason || be.Message == "" {
					t.Fatalf("err = %#v, want %s/%s", err, tc.want.code, tc.want.reason)
				}
				if rl, ok := errors.AsType[*RateLimitError](err); !tc.want.retryAt.IsZero() && (!ok || !rl.RetryAt.Equal(tc.want.retryAt) || !be.Retryable) {
					t.Fatalf("rate limit = %+v %v, want retry at %v", rl, ok, tc.want.retryAt)
				}
				return
			}
			p, ok := errors.AsType[*banklink.ProviderError](err)
			if !ok || p.Reason != tc.want.reason {
				t.Fatalf("err = %#v, want reason %s", err, tc.want.reason)
			}
		})
	}
	t.Run("passes banklink errors and cancellation through", func(t *testing.T) {
		for _, err := range []error{context.Canceled, banklink.Errorf(banklink.ECONFLICT, "x"), &banklink.ProviderError{Reason: "X"}} {
			if got := mapError(err, phaseData, now); got != err {
				t.Errorf("mapError(%v) = %v", err, got)
			}
		}
		if mapError(nil, phaseData, now) != nil {
			t.Error("nil error mapped")
		}
	})
}

func TestOAuthError(t *testing.T) {
	for _, tc := range []struct{ reason, want string }{
		{"CANCELLED", banklink.LoginOAuthDenied},
		{"DENIED", banklink.LoginOAuthDenied},
		{"SESSION_EXPIRED", banklink.LoginOAuthDenied},
		{"IMPEDED", banklink.LoginLocked},
		{"PROVIDER_ERROR", banklink.LoginInstitutionDown},
		{"SERVER_ERROR", banklink.LoginProviderDown},
		{"", banklink.LoginOAuthDenied},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			pe, ok := errors.AsType[*banklink.ProviderError](oauthError(tc.reason))
			if !ok || pe.Reason != tc.want {
				t.Fatalf("oauthError(%q) = %#v, want %s", tc.reason, pe, tc.want)
			}
		})
	}
}

func TestErrorBody(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"platform object", `{"error":{"message":"Member not found.","status":404}}`, "Member not found."},
		{"string", `{"error":"User with guid X not found."}`, "User with guid X not found."},
		{"empty", `{}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b errorBody
			if err := json.Unmarshal([]byte(tc.body), &b); err != nil {
				t.Fatal(err)
			}
			if got := b.message(); got != tc.want {
				t.Errorf("message = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseLoginID(t *testing.T) {
	for _, tc := range []struct {
		id       string
		user, mb string
		ok       bool
	}{
		{"USR-1/MBR-2", "USR-1", "MBR-2", true},
		{"MBR-2", "", "", false},
		{"/MBR-2", "", "", false},
		{"USR-1/", "", "", false},
		{"USR-1/MBR-2/x", "", "", false},
	} {
		t.Run(tc.id, func(t *testing.T) {
			u, m, err := parseLoginID(tc.id)
			if (err == nil) != tc.ok || u != tc.user || m != tc.mb {
				t.Errorf("parseLoginID(%q) = %q %q %v", tc.id, u, m, err)
			}
			if tc.ok && loginID(u, m) != tc.id {
				t.Errorf("loginID does not round-trip")
			}
		})
	}
}
