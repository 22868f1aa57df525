package finicity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"banklink"
)

// phase says what banklink was doing when Finicity answered: the same
// aggregation status means different things while the customer is in the
// widget and on a connection linked long ago.
type phase int

const (
	// phaseLogin: the customer is in the widget (customer enrolment, the
	// Connect URL, the way back).
	phaseLogin phase = iota
	// phaseData: aggregation, refresh, deletion and the directory.
	phaseData
)

// Reasons of the ERATELIMITED errors this package returns.
const (
	ReasonRefreshTooRecent = "REFRESH_TOO_RECENT"
	ReasonRateLimited      = "FINICITY_RATE_LIMITED"
)

// Messages.
const (
	msgBadPassword   = "The username or password is incorrect. Check them and try again."
	msgLoginAgain    = "The institution needs you to log in again."
	msgUserAction    = "The institution needs your attention on its website (for example new terms to accept). Visit it, then try again."
	msgNewPassword   = "The institution requires a new password. Set one on its website, then try again."
	msgMFAWrong      = "That security answer is not correct. Please try again."
	msgMFANeeded     = "The institution asked a security question that was not answered. Please try again."
	msgReconsent     = "The institution needs you to grant access again."
	msgAccountGone   = "An account of this connection was not found at the institution (it may be closed). Please link the institution again."
	msgDuplicate     = "These accounts are already linked in another connection."
	msgInstDown      = "This institution is not responding right now. Please try again later or pick another institution."
	msgFinicityDown  = "Finicity is not responding right now. Please try again later."
	msgNotFinished   = "The login at Finicity has not finished yet. Please complete it, then try again."
	msgSessionGone   = "This login session is no longer valid. Please return to the app and start again."
	msgGone          = "This connection no longer exists at Finicity. Please link the institution again."
	msgNotConfigured = "Finicity is not configured for this app (partner id, partner secret and app key)."
	msgRejectedKeys  = "Finicity rejected banklink's credentials (partner id, partner secret or app key)."
	msgRejectedFmt   = "Finicity rejected a request (HTTP %d, code %s)."
)

func providerErr(reason string, retryable bool, msg string) *banklink.ProviderError {
	return &banklink.ProviderError{Reason: reason, Retryable: retryable, DisplayMessage: msg}
}

// aggregationStatus maps an account's aggregationStatusCode to banklink's
// terms: nil for 0 (aggregating successfully). The codes are those of
// Finicity's aggregation status code reference (the spec links it from
// AggregationStatusCode); the consequences follow from the reason:
//
//   - LoginInvalidCredentials and LoginLocked make an aggregated
//     connection RECONNECT_REQUIRED (the aggregation runner), so every
//     code only the customer can fix through a Connect Fix session maps
//     to one of them in phaseData;
//   - LoginInstitutionDown and LoginProviderDown make it DEGRADED and
//     count against Finicity's health at the institution;
//   - in phaseLogin the reasons drive the widget's message and whether
//     the customer may try again.
func aggregationStatus(code int, ph phase) *banklink.ProviderError {
	login := ph == phaseLogin
	switch code {
	case 0:
		return nil
	case 103:
		// Invalid credentials: mistyped at login; changed since on a
		// linked connection.
		if login {
			return providerErr(banklink.LoginInvalidCredentials, true, msgBadPassword)
		}
		return providerErr(banklink.LoginInvalidCredentials, false, msgLoginAgain)
	case 108:
		// User action required at the institution (terms to accept, a
		// notice to read).
		return providerErr(banklink.LoginLocked, false, msgUserAction)
	case 109:
		// The institution requires a password change.
		return providerErr(banklink.LoginLocked, false, msgNewPassword)
	case 185:
		// A security challenge (MFA) nobody answered.
		if login {
			return providerErr(banklink.LoginInvalidMFA, true, msgMFANeeded)
		}
		return providerErr(banklink.LoginInvalidCredentials, false, msgLoginAgain)
	case 187:
		// Wrong answers to the security challenge.
		if login {
			return providerErr(banklink.LoginInvalidMFA, true, msgMFAWrong)
		}
		return providerErr(banklink.LoginInvalidCredentials, false, msgLoginAgain)
	case 945, 947, 948:
		// OAuth: migrated and not yet consented (945) or authenticated
		// (948), or the token expired (947): a new consent.
		return providerErr(banklink.LoginInvalidCredentials, !login, msgReconsent)
	case 946:
		// The account was not found (it may have been closed).
		return providerErr(banklink.LoginInvalidCredentials, false, msgAccountGone)
	case 169:
		// A duplicate account: the customer keeps one.
		return providerErr(banklink.LoginInvalidCredentials, false, msgDuplicate)
	case 102:
		// Finicity could not reach the institution's site.
		return providerErr(banklink.LoginInstitutionDown, true, msgInstDown)
	}
	// Codes Finicity adds or this table does not name: a failure on
	// Finicity's side until someone looks.
	return providerErr(banklink.LoginProviderDown, true, msgFinicityDown)
}

// mapError turns a failed Finicity call into banklink's terms: login-level
// failures become *banklink.ProviderError, rate limits ERATELIMITED, and
// requests Finicity refuses as malformed or unauthorised EPROVIDER
// (banklink's or the operator's fault, not the customer's). Context
// cancellation and errors that are already banklink's pass through;
// other transport failures mean Finicity could not be reached.
func mapError(err error, ph phase, now time.Time) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	if _, ok := errors.AsType[*banklink.Error](err); ok {
		return err
	}
	if _, ok := errors.AsType[*banklink.ProviderError](err); ok {
		return err
	}
	ae, ok := errors.AsType[*APIError](err)
	if !ok {
		// Connection refused, timeout, TLS, an unreadable answer.
		return providerErr(banklink.LoginProviderDown, true, msgFinicityDown)
	}
	switch {
	case ae.Status == http.StatusTooManyRequests:
		return rateLimited(ReasonRateLimited, retryAfter(ae.RetryAfter, now), "Finicity's request rate limit was reached", ae)
	case ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden:
		return &banklink.Error{Code: banklink.EPROVIDER, Reason: "FINICITY_UNAUTHORIZED", Message: msgRejectedKeys, Err: ae}
	case ae.Status == http.StatusNotFound:
		if ph == phaseData {
			// The institution login (or its customer) was deleted at
			// Finicity: only a new login brings the connection back.
			return providerErr(banklink.LoginInvalidCredentials, false, msgGone)
		}
		return providerErr(banklink.LoginOAuthDenied, false, msgSessionGone)
	case ae.Status >= 500:
		// "Aggregation status codes that happen during API calls will
		// come back consistently as HTTP 500 response" with the code in
		// the body.
		if n, err := strconv.Atoi(ae.Code); err == nil && n > 0 && n < 1000 {
			return aggregationStatus(n, ph)
		}
		return providerErr(banklink.LoginProviderDown, true, msgFinicityDown)
	}
	// 400, 405, 409, 415 …
	return &banklink.Error{Code: banklink.EPROVIDER, Reason: "FINICITY_HTTP_" + strconv.Itoa(ae.Status),
		Message: fmt.Sprintf(msgRejectedFmt, ae.Status, codeOr(ae.Code)), Err: ae}
}

func codeOr(code string) string {
	if code == "" {
		return "none"
	}
	return code
}

// RateLimitError is Finicity (or banklink's refresh limit) declining work
// until RetryAt. It is the cause (Err) of the ERATELIMITED errors this
// package returns.
type RateLimitError struct {
	RetryAt time.Time
	Cause   error
}

func (e *RateLimitError) Error() string {
	return "finicity: rate limited until " + e.RetryAt.UTC().Format(time.RFC3339)
}

func (e *RateLimitError) Unwrap() error { return e.Cause }

// RetryAfterTime is RetryAt, for callers that find it by method without
// knowing this package (the refresh endpoint's Retry-After).
func (e *RateLimitError) RetryAfterTime() time.Time { return e.RetryAt }

func rateLimited(reason string, at time.Time, why string, cause error) error {
	return &banklink.Error{Code: banklink.ERATELIMITED, Reason: reason, Retryable: true,
		Message: fmt.Sprintf("%s; try again after %s.", why, at.UTC().Format(time.RFC3339)),
		Err:     &RateLimitError{RetryAt: at, Cause: cause}}
}

// retryAfter reads a Retry-After header (seconds or an HTTP date); the
// spec documents no 429, so without one a minute is assumed.
func retryAfter(h string, now time.Time) time.Time {
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return now.Add(time.Duration(s) * time.Second)
	}
	if t, err := http.ParseTime(h); err == nil {
		return t
	}
	return now.Add(time.Minute)
}
