package plaid

import (
	"context"
	"errors"
	"strings"
	"testing"

	"banklink"
)

func strp(s string) *string { return &s }

// TestMapError covers every Plaid error banklink maps, case by case.
func TestMapError(t *testing.T) {
	type want struct {
		// reason is the ProviderError reason, or "" for a banklink.Error
		// with code.
		reason    string
		code      string
		retryable bool
		display   string
	}
	display := "Plaid's own message."
	for _, tc := range []struct {
		name    string
		typ     string
		code    string
		display *string
		phase   phase
		want    want
	}{
		{"item login required on data", "ITEM_ERROR", "ITEM_LOGIN_REQUIRED", nil, phaseData, want{reason: banklink.LoginInvalidCredentials, display: msgLoginAgain}},
		{"item login required keeps Plaid's message", "ITEM_ERROR", "ITEM_LOGIN_REQUIRED", &display, phaseData, want{reason: banklink.LoginInvalidCredentials, display: display}},
		{"invalid credentials during login", "ITEM_ERROR", "INVALID_CREDENTIALS", &display, phaseLogin, want{reason: banklink.LoginInvalidCredentials, retryable: true, display: display}},
		{"invalid credentials without message", "ITEM_ERROR", "INVALID_CREDENTIALS", nil, phaseLogin, want{reason: banklink.LoginInvalidCredentials, retryable: true, display: msgBadPassword}},
		{"invalid updated username", "ITEM_ERROR", "INVALID_UPDATED_USERNAME", nil, phaseLogin, want{reason: banklink.LoginInvalidCredentials, retryable: true, display: msgBadPassword}},
		{"invalid MFA during login", "ITEM_ERROR", "INVALID_MFA", &display, phaseLogin, want{reason: banklink.LoginInvalidMFA, retryable: true, display: display}},
		{"item locked", "ITEM_ERROR", "ITEM_LOCKED", nil, phaseLogin, want{reason: banklink.LoginLocked, display: msgLocked}},
		{"user setup required", "ITEM_ERROR", "USER_SETUP_REQUIRED", nil, phaseData, want{reason: banklink.LoginLocked, display: msgLocked}},
		{"password reset required", "ITEM_ERROR", "PASSWORD_RESET_REQUIRED", nil, phaseData, want{reason: banklink.LoginLocked, display: msgLocked}},
		{"no accounts", "ITEM_ERROR", "NO_ACCOUNTS", nil, phaseLogin, want{reason: banklink.LoginNoAccounts, display: msgNoAccounts}},
		{"item not supported", "ITEM_ERROR", "ITEM_NOT_SUPPORTED", nil, phaseLogin, want{reason: banklink.LoginNoAccounts, display: msgNoAccounts}},
		{"access not granted during login", "ITEM_ERROR", "ACCESS_NOT_GRANTED", nil, phaseLogin, want{reason: banklink.LoginOAuthDenied, retryable: true, display: msgDenied}},
		// One product's data not shared: not a broken login (product
		// calls skip it; see TestOptionalProductNotGranted).
		{"access not granted on data", "ITEM_ERROR", "ACCESS_NOT_GRANTED", nil, phaseData, want{reason: banklink.LoginOAuthDenied, display: msgNotGranted}},
		{"insufficient credentials on data", "ITEM_ERROR", "INSUFFICIENT_CREDENTIALS", nil, phaseData, want{reason: banklink.LoginInvalidCredentials, display: msgLoginAgain}},
		{"insufficient credentials during login", "ITEM_ERROR", "INSUFFICIENT_CREDENTIALS", nil, phaseLogin, want{reason: banklink.LoginOAuthDenied, retryable: true, display: msgDenied}},
		{"item not found on data", "ITEM_ERROR", "ITEM_NOT_FOUND", nil, phaseData, want{reason: banklink.LoginInvalidCredentials, display: msgLoginAgain}},
		{"item not found during login", "ITEM_ERROR", "ITEM_NOT_FOUND", nil, phaseLogin, want{code: banklink.EPROVIDER}},
		{"product not ready", "ITEM_ERROR", "PRODUCT_NOT_READY", nil, phaseData, want{reason: banklink.LoginProviderDown, retryable: true, display: msgNotReady}},
		{"unknown item error", "ITEM_ERROR", "SOMETHING_NEW", nil, phaseData, want{code: banklink.EPROVIDER}},
		{"institution down", "INSTITUTION_ERROR", "INSTITUTION_DOWN", &display, phaseData, want{reason: banklink.LoginInstitutionDown, retryable: true, display: display}},
		{"institution not responding", "INSTITUTION_ERROR", "INSTITUTION_NOT_RESPONDING", nil, phaseLogin, want{reason: banklink.LoginInstitutionDown, retryable: true, display: msgInstDown}},
		{"institution not available", "INSTITUTION_ERROR", "INSTITUTION_NOT_AVAILABLE", nil, phaseData, want{reason: banklink.LoginInstitutionDown, retryable: true, display: msgInstDown}},
		{"institution no longer supported", "INSTITUTION_ERROR", "INSTITUTION_NO_LONGER_SUPPORTED", nil, phaseData, want{reason: banklink.LoginInstitutionDown, display: msgInstGone}},
		{"rate limit", "RATE_LIMIT_EXCEEDED", "RATE_LIMIT", nil, phaseData, want{code: banklink.ERATELIMITED, retryable: true}},
		{"rate limit on one product", "RATE_LIMIT_EXCEEDED", "TRANSACTIONS_SYNC_LIMIT", nil, phaseData, want{code: banklink.ERATELIMITED, retryable: true}},
		{"internal server error", "API_ERROR", "INTERNAL_SERVER_ERROR", nil, phaseData, want{reason: banklink.LoginProviderDown, retryable: true, display: msgPlaidDown}},
		{"planned maintenance", "API_ERROR", "PLANNED_MAINTENANCE", nil, phaseLogin, want{reason: banklink.LoginProviderDown, retryable: true, display: msgPlaidDown}},
		{"sync mutation after retries", "TRANSACTIONS_ERROR", "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION", nil, phaseData, want{reason: banklink.LoginProviderDown, retryable: true, display: msgNotReady}},
		{"invalid access token on data", "INVALID_INPUT", "INVALID_ACCESS_TOKEN", nil, phaseData, want{reason: banklink.LoginInvalidCredentials, display: msgLoginAgain}},
		{"invalid access token during login", "INVALID_INPUT", "INVALID_ACCESS_TOKEN", nil, phaseLogin, want{code: banklink.EPROVIDER}},
		{"expired public token", "INVALID_INPUT", "INVALID_PUBLIC_TOKEN", nil, phaseLogin, want{reason: banklink.LoginOAuthDenied, retryable: true, display: msgLinkExpired}},
		{"invalid link token", "INVALID_INPUT", "INVALID_LINK_TOKEN", nil, phaseLogin, want{reason: banklink.LoginOAuthDenied, display: msgSessionGone}},
		{"invalid API keys", "INVALID_INPUT", "INVALID_API_KEYS", nil, phaseLogin, want{code: banklink.EPROVIDER}},
		{"unauthorized environment", "INVALID_INPUT", "UNAUTHORIZED_ENVIRONMENT", nil, phaseData, want{code: banklink.EPROVIDER}},
		{"other invalid input", "INVALID_INPUT", "INVALID_ACCOUNT_ID", nil, phaseData, want{code: banklink.EPROVIDER}},
		{"invalid request", "INVALID_REQUEST", "MISSING_FIELDS", nil, phaseLogin, want{code: banklink.EPROVIDER}},
		// Capital One's cards without options.min_last_updated_datetime,
		// which banklink always sends: a fault of banklink's request.
		{"invalid field", "INVALID_REQUEST", "INVALID_FIELD", nil, phaseData, want{code: banklink.EPROVIDER}},
		// No balance as recent as asked for: getAccounts reads the cached
		// ones instead; anywhere else it is a request fault.
		{"balance older than asked for", "INVALID_RESULT", "LAST_UPDATED_DATETIME_OUT_OF_RANGE", nil, phaseData, want{code: banklink.EPROVIDER}},
		{"unknown type", "NEW_ERROR_TYPE", "X", nil, phaseData, want{code: banklink.EPROVIDER}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := mapError(&APIError{ErrorType: tc.typ, ErrorCode: tc.code, ErrorMessage: "internal detail", DisplayMessage: tc.display, HTTPStatus: 400}, tc.phase)
			if tc.want.reason != "" {
				pe, ok := err.(*banklink.ProviderError)
				if !ok {
					t.Fatalf("got %T %v, want a ProviderError", err, err)
				}
				if pe.Reason != tc.want.reason || pe.Retryable != tc.want.retryable || pe.DisplayMessage != tc.want.display {
					t.Errorf("got %+v, want %+v", pe, tc.want)
				}
				return
			}
			be, ok := err.(*banklink.Error)
			if !ok {
				t.Fatalf("got %T %v, want a banklink.Error", err, err)
			}
			if be.Code != tc.want.code || be.Retryable != tc.want.retryable || be.Reason != tc.code {
				t.Errorf("got %+v, want code %s retryable %v reason %s", be, tc.want.code, tc.want.retryable, tc.code)
			}
			if ae, ok := errors.AsType[*APIError](err); !ok || ae.ErrorCode != tc.code {
				t.Errorf("the Plaid error is not kept as the cause: %v", err)
			}
			if be.Message == "" || strings.Contains(be.Message, "internal detail") {
				t.Errorf("message %q must be set and must not repeat Plaid's error_message", be.Message)
			}
		})
	}
}

func TestMapErrorPassesOtherErrorsThrough(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"nil", nil},
		{"context", context.Canceled},
		{"banklink error", banklink.Errorf(banklink.EPROVIDER, "x")},
		{"provider error", &banklink.ProviderError{Reason: banklink.LoginProviderDown}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mapError(tc.err, phaseData); got != tc.err {
				t.Errorf("mapError(%v) = %v", tc.err, got)
			}
		})
	}
}

func TestExitError(t *testing.T) {
	for _, tc := range []struct {
		name      string
		exit      *APIError
		reason    string
		retryable bool
		display   string
	}{
		{"left without error", nil, banklink.LoginOAuthDenied, true, msgDenied},
		{"empty error object", &APIError{}, banklink.LoginOAuthDenied, true, msgDenied},
		{"wrong password", &APIError{ErrorType: "ITEM_ERROR", ErrorCode: "INVALID_CREDENTIALS", DisplayMessage: strp("Wrong password.")},
			banklink.LoginInvalidCredentials, true, "Wrong password."},
		{"wrong MFA", &APIError{ErrorType: "ITEM_ERROR", ErrorCode: "INVALID_MFA", DisplayMessage: strp("Wrong code.")},
			banklink.LoginInvalidMFA, true, "Wrong code."},
		{"institution down", &APIError{ErrorType: "INSTITUTION_ERROR", ErrorCode: "INSTITUTION_DOWN"},
			banklink.LoginInstitutionDown, true, msgInstDown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pe, ok := exitError(tc.exit).(*banklink.ProviderError)
			if !ok || pe.Reason != tc.reason || pe.Retryable != tc.retryable || pe.DisplayMessage != tc.display {
				t.Errorf("exitError = %+v, want %s retryable=%v %q", pe, tc.reason, tc.retryable, tc.display)
			}
		})
	}
}
