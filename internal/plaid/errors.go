package plaid

import (
	"errors"
	"fmt"

	"banklink"
)

// phase says what banklink was doing when Plaid failed: the same Plaid
// error can mean different things during a login and on an existing Item.
type phase int

const (
	// phaseLogin: creating the Link session, reading its outcome,
	// exchanging the public token.
	phaseLogin phase = iota
	// phaseData: any call on an existing Item (aggregation, removal).
	phaseData
)

// Messages shown to the customer when Plaid sends no display_message.
const (
	msgLoginAgain    = "The institution needs you to log in again."
	msgBadPassword   = "The username or password is incorrect. Check them and try again."
	msgBadMFA        = "That security answer is not correct. Please try again."
	msgLocked        = "This account is locked or needs attention at the institution. Visit the institution's website, then try again."
	msgNoAccounts    = "No eligible accounts were found at this institution."
	msgInstDown      = "This institution is not responding right now. Please try again later or pick another institution."
	msgInstGone      = "This institution can no longer be linked. Please pick another institution."
	msgPlaidDown     = "Plaid is not responding right now. Please try again later."
	msgNotReady      = "The institution's data is still being retrieved. Please try again in a few minutes."
	msgDenied        = "Access was not granted at the institution. You can try again."
	msgNotGranted    = "Access to this data was not granted at the institution. Repair the connection to grant it."
	msgLinkExpired   = "This login took too long and expired. Please try again."
	msgSessionGone   = "This login session is no longer valid. Please return to the app and start again."
	msgNotFinished   = "The login at Plaid has not finished yet. Please complete it, then try again."
	msgWrongInstFmt  = "You logged in to %s, not %s. Please try again and choose %s."
	msgRateLimited   = "Plaid's rate limit was reached. Please try again later."
	msgRejectedKeys  = "Plaid rejected banklink's API keys for this environment."
	msgPlaidRejected = "Plaid rejected a request (%s)."
)

// mapError turns a Plaid failure into banklink's terms. Errors that are not
// Plaid error objects (transport failures, already banklink errors) pass
// through unchanged.
//
// Item errors become *banklink.ProviderError, whose Reason drives the
// widget and the connection status: LoginInvalidCredentials (and
// LoginLocked) make an aggregated connection RECONNECT_REQUIRED,
// LoginInstitutionDown and LoginProviderDown make it DEGRADED and count
// against the provider's health. Plaid's rate limits become ERATELIMITED,
// and requests Plaid refuses as malformed or unauthorised become
// EPROVIDER: they are banklink's or the operator's fault, not the
// customer's.
func mapError(err error, ph phase) error {
	ae, ok := errors.AsType[*APIError](err)
	if !ok {
		return err
	}
	pe := func(reason string, retryable bool, def string) error {
		return &banklink.ProviderError{Reason: reason, Retryable: retryable, DisplayMessage: ae.display(def)}
	}
	switch ae.ErrorType {
	case "RATE_LIMIT_EXCEEDED":
		return &banklink.Error{Code: banklink.ERATELIMITED, Reason: ae.ErrorCode, Retryable: true, Message: msgRateLimited, Err: ae}
	case "INSTITUTION_ERROR":
		if ae.ErrorCode == "INSTITUTION_NO_LONGER_SUPPORTED" {
			return pe(banklink.LoginInstitutionDown, false, msgInstGone)
		}
		// INSTITUTION_DOWN, INSTITUTION_NOT_RESPONDING,
		// INSTITUTION_NOT_AVAILABLE and the like: it may come back.
		return pe(banklink.LoginInstitutionDown, true, msgInstDown)
	case "API_ERROR":
		// INTERNAL_SERVER_ERROR, PLANNED_MAINTENANCE.
		return pe(banklink.LoginProviderDown, true, msgPlaidDown)
	case "TRANSACTIONS_ERROR":
		// TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION after every retry.
		return pe(banklink.LoginProviderDown, true, msgNotReady)
	case "ITEM_ERROR":
		switch ae.ErrorCode {
		case "ITEM_LOGIN_REQUIRED":
			return pe(banklink.LoginInvalidCredentials, false, msgLoginAgain)
		case "INVALID_CREDENTIALS":
			return pe(banklink.LoginInvalidCredentials, true, msgBadPassword)
		case "INVALID_MFA":
			return pe(banklink.LoginInvalidMFA, true, msgBadMFA)
		case "INVALID_UPDATED_USERNAME":
			return pe(banklink.LoginInvalidCredentials, true, msgBadPassword)
		case "ITEM_LOCKED", "USER_SETUP_REQUIRED", "PASSWORD_RESET_REQUIRED":
			return pe(banklink.LoginLocked, false, msgLocked)
		case "NO_ACCOUNTS", "ITEM_NOT_SUPPORTED":
			return pe(banklink.LoginNoAccounts, false, msgNoAccounts)
		case "ACCESS_NOT_GRANTED":
			if ph == phaseData {
				// One product's data was not shared (product calls skip
				// it, see unavailable); the login works. Where a call
				// that cannot be skipped meets it, the customer grants
				// it in a repair: not a broken login.
				return pe(banklink.LoginOAuthDenied, false, msgNotGranted)
			}
			return pe(banklink.LoginOAuthDenied, true, msgDenied)
		case "INSUFFICIENT_CREDENTIALS":
			if ph == phaseData {
				// The Item lost (or never had) its credentials: only a
				// new login helps.
				return pe(banklink.LoginInvalidCredentials, false, msgLoginAgain)
			}
			return pe(banklink.LoginOAuthDenied, true, msgDenied)
		case "ITEM_NOT_FOUND":
			if ph == phaseData {
				return pe(banklink.LoginInvalidCredentials, false, msgLoginAgain)
			}
		case "PRODUCT_NOT_READY":
			return pe(banklink.LoginProviderDown, true, msgNotReady)
		}
	case "INVALID_INPUT":
		switch ae.ErrorCode {
		case "INVALID_ACCESS_TOKEN":
			if ph == phaseData {
				// Removed at Plaid (by /item/remove or by the end user):
				// the connection needs a new login.
				return pe(banklink.LoginInvalidCredentials, false, msgLoginAgain)
			}
		case "INVALID_PUBLIC_TOKEN":
			if ph == phaseLogin {
				// Public tokens live 30 minutes.
				return pe(banklink.LoginOAuthDenied, true, msgLinkExpired)
			}
		case "INVALID_LINK_TOKEN":
			if ph == phaseLogin {
				return pe(banklink.LoginOAuthDenied, false, msgSessionGone)
			}
		case "INVALID_API_KEYS", "UNAUTHORIZED_ENVIRONMENT":
			return &banklink.Error{Code: banklink.EPROVIDER, Reason: ae.ErrorCode, Message: msgRejectedKeys, Err: ae}
		}
	}
	return &banklink.Error{Code: banklink.EPROVIDER, Reason: ae.ErrorCode, Message: fmt.Sprintf(msgPlaidRejected, ae.ErrorCode), Err: ae}
}

// exitError maps the error a Link session exited with (Plaid's error
// object in link_sessions[].exit.error). Nil means the customer left
// without an error.
func exitError(ae *APIError) error {
	if ae == nil || ae.ErrorCode == "" {
		return &banklink.ProviderError{Reason: banklink.LoginOAuthDenied, Retryable: true, DisplayMessage: msgDenied}
	}
	return mapError(ae, phaseLogin)
}
