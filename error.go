package banklink

import (
	"errors"
	"fmt"
)

// Error codes. They are the Meld wire codes an app sees in the "code" field
// of an error body; internal/httpx holds the one table that maps each to an
// HTTP status.
const (
	EBADREQUEST      = "BAD_REQUEST"
	EUNAUTHORIZED    = "UNAUTHORIZED"
	EFORBIDDEN       = "FORBIDDEN"
	ENOTFOUND        = "NOT_FOUND"
	EMETHOD          = "METHOD_NOT_ALLOWED"
	ECONFLICT        = "CONFLICT"
	EUNSUPPORTEDTYPE = "UNSUPPORTED_MEDIA_TYPE"
	ERATELIMITED     = "RATE_LIMITED"
	EPROVIDER        = "SERVICE_PROVIDER_ERROR"
	ELOGIN           = "LOGIN_FAILED"
	ENOTSUPPORTED    = "NOT_SUPPORTED"
	EUNAVAILABLE     = "SERVICE_UNAVAILABLE"
	EINTERNAL        = "INTERNAL_ERROR"
)

// Error is the one error type of banklink. Its Message is safe to show to an
// API client; anything else (wrapped driver errors, panics) is reported to
// clients only as EINTERNAL and logged on the server.
type Error struct {
	Code    string
	Message string
	// Field names the request field at fault, when there is one.
	Field string
	// Reason is a machine-readable detail code (e.g. TOKEN_EXPIRED,
	// INVALID_CREDENTIALS) and Retryable says whether trying again can
	// succeed; the widget uses both to choose what to show.
	Reason    string
	Retryable bool
	// Err is an underlying cause, logged but never shown to clients.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("banklink error: code=%s message=%s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("banklink error: code=%s message=%s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns a BAD_REQUEST *Error about one request field, with the
// message in Meld's validation style: "[field] must not be null".
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Code: EBADREQUEST, Field: field, Message: "[" + field + "] " + fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err's *Error, or EINTERNAL when err is not
// (or does not wrap) one. A nil error has no code.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Message
	}
	return "Internal error."
}
