package mx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"banklink"
)

// phase says what banklink was doing when MX answered: the same member
// status means different things while the customer is in the widget and
// on a connection that was linked long ago.
type phase int

const (
	// phaseLogin: the customer is in the widget (user creation, widget
	// URL, the callback).
	phaseLogin phase = iota
	// phaseData: aggregation, deletion and the directory, without the
	// customer.
	phaseData
)

// LoginMFANotCompleted is the login failure of a member that came back
// from MX Connect still CHALLENGED: MX asks its security questions in its
// own widget, which banklink cannot answer for it.
const LoginMFANotCompleted = "MFA_NOT_COMPLETED"

// Reasons of the ERATELIMITED errors this package returns.
const (
	ReasonAggregationTooRecent = "AGGREGATION_TOO_RECENT"
	ReasonRateLimited          = "MX_RATE_LIMITED"
)

// Messages shown to the customer.
const (
	msgBadPassword   = "The username or password is incorrect. Check them and try again."
	msgLoginAgain    = "The institution needs you to log in again."
	msgLocked        = "This account is locked at the institution. Visit the institution's website to unlock it, then try again."
	msgImpeded       = "The institution needs your attention on its website (for example new terms to accept). Visit it, then try again."
	msgMFANotDone    = "The security step in MX Connect was not completed. Please try again and finish it there."
	msgMFAWrong      = "That security answer is not correct. Please try again."
	msgMFAExpired    = "The security step took too long and expired. Please try again."
	msgInstDown      = "This institution is not responding right now. Please try again later or pick another institution."
	msgInstGone      = "This institution can no longer be linked through MX. Please pick another institution."
	msgMXDown        = "MX is not responding right now. Please try again later."
	msgNotFinished   = "The login at MX has not finished yet. Please complete it, then try again."
	msgSessionGone   = "This login session is no longer valid. Please return to the app and start again."
	msgDenied        = "Access was not granted at the institution. You can try again."
	msgLinkExpired   = "This login took too long and expired. Please try again."
	msgClosed        = "This connection was closed at MX. Please link the institution again."
	msgGone          = "This connection no longer exists at MX. Please link the institution again."
	msgAggregating   = "MX is still gathering this connection's data. Please try again in a few minutes."
	msgWhichMember   = "banklink could not tell which of your MX connections to this institution you just made. Please try again."
	msgWrongInstFmt  = "You connected %s, not %s. Please try again and choose %s."
	msgRejectedKeys  = "MX rejected banklink's API credentials (client_id and api_key)."
	msgMXRejectedFmt = "MX rejected a request (HTTP %d)."
)

func providerErr(reason string, retryable bool, msg string) *banklink.ProviderError {
	return &banklink.ProviderError{Reason: reason, Retryable: retryable, DisplayMessage: msg}
}

// Connection statuses, as MX names them (connection_status). The numbers
// in comments are MX's connection_status_id.
const (
	StatusCreated      = "CREATED"      // 0
	StatusPrevented    = "PREVENTED"    // 1
	StatusDenied       = "DENIED"       // 2
	StatusChallenged   = "CHALLENGED"   // 3
	StatusRejected     = "REJECTED"     // 4
	StatusLocked       = "LOCKED"       // 5
	StatusConnected    = "CONNECTED"    // 6
	StatusImpeded      = "IMPEDED"      // 7
	StatusReconnected  = "RECONNECTED"  // 8
	StatusDegraded     = "DEGRADED"     // 9
	StatusDisconnected = "DISCONNECTED" // 10
	StatusDiscontinued = "DISCONTINUED" // 11
	StatusClosed       = "CLOSED"       // 12
	StatusDelayed      = "DELAYED"      // 13
	StatusFailed       = "FAILED"       // 14
	StatusUpdated      = "UPDATED"      // 15
	StatusDisabled     = "DISABLED"     // 16
	StatusImported     = "IMPORTED"     // 17
	StatusResumed      = "RESUMED"      // 18
	StatusExpired      = "EXPIRED"      // 19
	StatusImpaired     = "IMPAIRED"     // 20
	StatusPending      = "PENDING"      // 21
)

// statusKind sorts connection statuses.
type statusKind int

const (
	// statusOK: the member works (CONNECTED).
	statusOK statusKind = iota
	// statusWorking: MX is still connecting or aggregating; read again.
	statusWorking
	// statusFailed: the member does not work; see the error.
	statusFailed
)

// classify maps a member's connection_status to banklink's terms. The
// descriptions are MX's (members overview and the MX Academy status
// articles); the consequences in banklink follow from the reason:
//
//   - LoginInvalidCredentials and LoginLocked make an aggregated
//     connection RECONNECT_REQUIRED (the aggregation runner), so every
//     status that only the customer can fix in a new login maps to one of
//     them in phaseData;
//   - LoginInstitutionDown and LoginProviderDown make it DEGRADED and count
//     against the provider's health at the institution;
//   - in phaseLogin the reasons drive the widget's message and whether
//     the customer may try again.
func classify(status string, ph phase) (statusKind, error) {
	login := ph == phaseLogin
	switch status {
	case StatusConnected:
		return statusOK, nil
	case StatusCreated, StatusReconnected, StatusUpdated, StatusResumed:
		// New, or an aggregation running or just finished: not an error.
		return statusWorking, nil
	case StatusPending:
		// A member the customer has not finished (e.g. an OAuth login left
		// half way); MX deletes unused ones after a while. The docs give
		// no further detail.
		if login {
			return statusFailed, providerErr(banklink.LoginOAuthDenied, true, msgNotFinished)
		}
		return statusFailed, providerErr(banklink.LoginInvalidCredentials, false, msgLoginAgain)
	case StatusDenied, StatusPrevented, StatusImpaired, StatusImported:
		// DENIED: invalid credentials. PREVENTED: three failures in a
		// row; MX stops trying until the customer re-enters them.
		// IMPAIRED: missing or partial credentials. IMPORTED: a member
		// MX has no credentials for.
		if login {
			return statusFailed, providerErr(banklink.LoginInvalidCredentials, true, msgBadPassword)
		}
		return statusFailed, providerErr(banklink.LoginInvalidCredentials, false, msgLoginAgain)
	case StatusChallenged:
		// Waiting for an MFA answer. MX asks it in its own widget; a
		// member still CHALLENGED at the callback means the customer left
		// before answering. On a linked connection only the customer can
		// answer: a new login.
		if login {
			return statusFailed, providerErr(LoginMFANotCompleted, true, msgMFANotDone)
		}
		return statusFailed, providerErr(banklink.LoginInvalidCredentials, false, msgLoginAgain)
	case StatusRejected:
		// An MFA answer was wrong.
		if login {
			return statusFailed, providerErr(banklink.LoginInvalidMFA, true, msgMFAWrong)
		}
		return statusFailed, providerErr(banklink.LoginInvalidCredentials, false, msgLoginAgain)
	case StatusExpired:
		// The MFA answer did not come in time.
		if login {
			return statusFailed, providerErr(banklink.LoginInvalidMFA, true, msgMFAExpired)
		}
		return statusFailed, providerErr(banklink.LoginInvalidCredentials, false, msgLoginAgain)
	case StatusLocked:
		// The institution locked the account; only the customer can fix
		// it, at the institution.
		return statusFailed, providerErr(banklink.LoginLocked, false, msgLocked)
	case StatusImpeded:
		// "The end user's attention is required at their online banking
		// institution" (terms to accept, a message to read): customer
		// action at the institution, not a provider failure.
		return statusFailed, providerErr(banklink.LoginLocked, false, msgImpeded)
	case StatusDegraded, StatusDelayed, StatusDisconnected, StatusDisabled:
		// DEGRADED: several aggregations failed (maintenance and the
		// like). DELAYED: slower than usual. DISCONNECTED: the
		// institution is not updating data. DISABLED: MX paused
		// aggregation for the institution. All on the institution's
		// side and may heal.
		return statusFailed, providerErr(banklink.LoginInstitutionDown, true, msgInstDown)
	case StatusDiscontinued:
		// MX no longer supports the institution.
		return statusFailed, providerErr(banklink.LoginInstitutionDown, false, msgInstGone)
	case StatusFailed:
		// MX could not pull the data; an MX-side failure.
		return statusFailed, providerErr(banklink.LoginProviderDown, true, msgMXDown)
	case StatusClosed:
		// Marked closed by the end user, MX, the client or a partner: it
		// will not aggregate again.
		return statusFailed, providerErr(banklink.LoginInvalidCredentials, false, msgClosed)
	}
	// null (a member without credentials, e.g. manual) or a status MX
	// added since: nothing banklink can aggregate.
	return statusFailed, providerErr(banklink.LoginProviderDown, true, msgMXDown)
}

// mapError turns a failed MX call into banklink's terms: member-level
// failures become *banklink.ProviderError, rate limits ERATELIMITED and
// requests MX refuses as malformed or unauthorised EPROVIDER (banklink's or
// the operator's fault, not the customer's). Context cancellation and
// errors that are already banklink's pass through; other transport
// failures mean MX could not be reached.
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
		return providerErr(banklink.LoginProviderDown, true, msgMXDown)
	}
	switch {
	case ae.Status == http.StatusTooManyRequests:
		return rateLimited(ReasonRateLimited, retryAfter(ae.RetryAfter, now), "MX's request rate limit was reached", ae)
	case ae.Status == http.StatusUnauthorized:
		return &banklink.Error{Code: banklink.EPROVIDER, Reason: "MX_UNAUTHORIZED", Message: msgRejectedKeys, Err: ae}
	case ae.Status == http.StatusNotFound:
		if ph == phaseData {
			// The member (or its user) was deleted at MX: only a new
			// login brings the connection back.
			return providerErr(banklink.LoginInvalidCredentials, false, msgGone)
		}
		return providerErr(banklink.LoginOAuthDenied, false, msgSessionGone)
	case ae.Status >= 500:
		// 500, 502, 504: MX failed; 503: MX is being updated.
		return providerErr(banklink.LoginProviderDown, true, msgMXDown)
	}
	// 400, 403 (address not allow-listed, feature not enabled), 405,
	// 406, 409, 422.
	return &banklink.Error{Code: banklink.EPROVIDER, Reason: "MX_HTTP_" + strconv.Itoa(ae.Status), Message: fmt.Sprintf(msgMXRejectedFmt, ae.Status), Err: ae}
}

// oauthError maps the outcome MX appends to client_redirect_url when an
// OAuth login ends in error (status=error&error_reason=…). The reasons
// are those of MX's OAuth guide.
func oauthError(reason string) error {
	switch reason {
	case "IMPEDED":
		return providerErr(banklink.LoginLocked, false, msgImpeded)
	case "PROVIDER_ERROR":
		return providerErr(banklink.LoginInstitutionDown, true, msgInstDown)
	case "SERVER_ERROR":
		return providerErr(banklink.LoginProviderDown, true, msgMXDown)
	case "SESSION_EXPIRED":
		return providerErr(banklink.LoginOAuthDenied, true, msgLinkExpired)
	}
	// CANCELLED (the customer left), DENIED (could not authenticate at
	// the institution) and reasons MX may add.
	return providerErr(banklink.LoginOAuthDenied, true, msgDenied)
}

// RateLimitError is MX declining work until RetryAt. It is the cause
// (Err) of the ERATELIMITED errors this package returns.
type RateLimitError struct {
	RetryAt time.Time
	Cause   error
}

func (e *RateLimitError) Error() string {
	return "mx: rate limited until " + e.RetryAt.UTC().Format(time.RFC3339)
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

// retryAfter reads a Retry-After header (seconds or an HTTP date). MX's
// documentation does not say whether it sends one with 429 ("retried once
// the rate limit window has expired"); without one a minute is assumed.
func retryAfter(h string, now time.Time) time.Time {
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return now.Add(time.Duration(s) * time.Second)
	}
	if t, err := http.ParseTime(h); err == nil {
		return t
	}
	return now.Add(time.Minute)
}
