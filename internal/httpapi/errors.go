package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"banklink"
	"banklink/internal/httpx"
)

// StatusOf returns the HTTP status for err (httpx's table).
func StatusOf(err error) int { return httpx.StatusOf(err) }

// UnavailableRetryAfter is the Retry-After, in seconds, of a 503: long
// enough for a pool to reconnect or a failover to finish, short enough
// that clients do not give up on a brief outage.
const UnavailableRetryAfter = 5

// ErrorBody is the wire form of every error, as Meld sends it.
type ErrorBody struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"requestId"`
	Timestamp string `json:"timestamp"`
	// Field names the request field at fault (banklink's addition).
	Field string `json:"field,omitempty"`
	// Reason and Retryable detail some errors (banklink's addition).
	Reason    string `json:"reason,omitempty"`
	Retryable *bool  `json:"retryable,omitempty"`
}

// TimestampFormat is Meld's: ISO-8601 in UTC with microseconds.
const TimestampFormat = "2006-01-02T15:04:05.000000Z"

// writeError renders err. Only *banklink.Error messages reach the client;
// anything else is an internal error whose detail stays in the log.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if c, ok := s.Store.(banklink.ErrorClassifier); ok {
		err = c.ClassifyError(err)
	}
	body := ErrorBody{
		Code:      banklink.ErrorCode(err),
		Message:   banklink.ErrorMessage(err),
		RequestID: requestIDFrom(r.Context()),
		Timestamp: s.now().UTC().Format(TimestampFormat),
	}
	if e, ok := errors.AsType[*banklink.Error](err); ok {
		body.Field = e.Field
		if e.Reason != "" {
			body.Reason, body.Retryable = e.Reason, &e.Retryable
		}
	}
	status := StatusOf(err)
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", strconv.Itoa(UnavailableRetryAfter))
	}
	if info := infoFrom(r.Context()); info != nil {
		info.err = err
	}
	writeJSON(w, status, body)
}

// WriteJSON writes v as a JSON response.
func WriteJSON(w http.ResponseWriter, status int, v any) { httpx.WriteJSON(w, status, v) }

func writeJSON(w http.ResponseWriter, status int, v any) { httpx.WriteJSON(w, status, v) }

func (s *Server) now() time.Time { return s.Now() }
