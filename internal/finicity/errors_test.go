package finicity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"banklink"
)

// TestAggregationStatus: every aggregation status code, at login and on
// a linked connection.
func TestAggregationStatus(t *testing.T) {
	for _, tc := range []struct {
		code                  int
		login, data           string // reasons; "" for success
		loginRetry, dataRetry bool
	}{
		{0, "", "", false, false},
		{103, banklink.LoginInvalidCredentials, banklink.LoginInvalidCredentials, true, false},
		{108, banklink.LoginLocked, banklink.LoginLocked, false, false},
		{109, banklink.LoginLocked, banklink.LoginLocked, false, false},
		{185, banklink.LoginInvalidMFA, banklink.LoginInvalidCredentials, true, false},
		{187, banklink.LoginInvalidMFA, banklink.LoginInvalidCredentials, true, false},
		{945, banklink.LoginInvalidCredentials, banklink.LoginInvalidCredentials, false, true},
		{947, banklink.LoginInvalidCredentials, banklink.LoginInvalidCredentials, false, true},
		{948, banklink.LoginInvalidCredentials, banklink.LoginInvalidCredentials, false, true},
		{946, banklink.LoginInvalidCredentials, banklink.LoginInvalidCredentials, false, false},
		{169, banklink.LoginInvalidCredentials, banklink.LoginInvalidCredentials, false, false},
		{102, banklink.LoginInstitutionDown, banklink.LoginInstitutionDown, true, true},
		{999, banklink.LoginProviderDown, banklink.LoginProviderDown, true, true},
	} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			for _, ph := range []struct {
				phase  phase
				reason string
				retry  bool
			}{{phaseLogin, tc.login, tc.loginRetry}, {phaseData, tc.data, tc.dataRetry}} {
				pe := aggregationStatus(tc.code, ph.phase)
				if ph.reason == "" {
					if pe != nil {
						t.Errorf("phase %d: %v", ph.phase, pe)
					}
					continue
				}
				if pe == nil || pe.Reason != ph.reason || pe.Retryable != ph.retry || pe.DisplayMessage == "" {
					t.Errorf("phase %d: %+v, want %s retryable=%v", ph.phase, pe, ph.reason, ph.retry)
				}
			}
		})
	}
}

// TestMapError: every kind of failed call.
func TestMapError(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	type want struct {
		code   string // banklink.Error code, or "" for a ProviderError
		reason string
	}
	for _, tc := range []struct {
		name string
		err  error
		ph   phase
		want want
	}{
		{"transport", errors.New("connection refused"), phaseData, want{"", banklink.LoginProviderDown}},
		{"rate limited", &APIError{Status: 429, RetryAfter: "30"}, phaseData, want{banklink.ERATELIMITED, ReasonRateLimited}},
		{"unauthorized", &APIError{Status: 401, Code: "10001"}, phaseData, want{banklink.EPROVIDER, "FINICITY_UNAUTHORIZED"}},
		{"forbidden", &APIError{Status: 403}, phaseLogin, want{banklink.EPROVIDER, "FINICITY_UNAUTHORIZED"}},
		{"login gone", &APIError{Status: 404, Code: "38007"}, phaseData, want{"", banklink.LoginInvalidCredentials}},
		{"session gone", &APIError{Status: 404}, phaseLogin, want{"", banklink.LoginOAuthDenied}},
		{"aggregation 103", &APIError{Status: 500, Code: "103"}, phaseData, want{"", banklink.LoginInvalidCredentials}},
		{"aggregation 102", &APIError{Status: 500, Code: "102"}, phaseData, want{"", banklink.LoginInstitutionDown}},
		{"server error", &APIError{Status: 500, Code: "12000"}, phaseData, want{"", banklink.LoginProviderDown}},
		{"unavailable", &APIError{Status: 503}, phaseData, want{"", banklink.LoginProviderDown}},
		{"bad request", &APIError{Status: 400, Code: "10005"}, phaseLogin, want{banklink.EPROVIDER, "FINICITY_HTTP_400"}},
		{"conflict", &APIError{Status: 409}, phaseLogin, want{banklink.EPROVIDER, "FINICITY_HTTP_409"}},
		{"banklink's own", &banklink.Error{Code: banklink.EINTERNAL, Reason: "X"}, phaseData, want{banklink.EINTERNAL, "X"}},
		{"provider error", &banklink.ProviderError{Reason: banklink.LoginLocked}, phaseData, want{"", banklink.LoginLocked}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := mapError(tc.err, tc.ph, now)
			if tc.want.code == "" {
				var pe *banklink.ProviderError
				if !errors.As(err, &pe) || pe.Reason != tc.want.reason {
					t.Errorf("%v, want provider error %s", err, tc.want.reason)
				}
				return
			}
			var be *banklink.Error
			if !errors.As(err, &be) || be.Code != tc.want.code || be.Reason != tc.want.reason {
				t.Errorf("%v, want %s %s", err, tc.want.code, tc.want.reason)
			}
		})
	}
	if mapError(nil, phaseData, now) != nil {
		t.Error("nil is not an error")
	}
	if err := mapError(context.Canceled, phaseData, now); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	// The rate limit's time comes from Retry-After.
	var rl *RateLimitError
	if err := mapError(&APIError{Status: http.StatusTooManyRequests, RetryAfter: "30"}, phaseData, now); !errors.As(err, &rl) || !rl.RetryAt.Equal(now.Add(30*time.Second)) {
		t.Errorf("retry at %v", err)
	}
}
