package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"time"

	"banklink"
)

// Idempotency: a POST or DELETE sent with an Idempotency-Key header is run
// once; retries with the same key and the same request get the stored
// response (marked Idempotent-Replayed: true) for IdempotencyTTL. The same
// key with a different request is a 409, and a retry that arrives while
// the first is still running waits for it.
const (
	IdempotencyTTL    = 24 * time.Hour
	idempotencyWait   = 10 * time.Second
	maxIdempotencyKey = 255
	idempotencyReplay = "Idempotent-Replayed"
	idempotencyPoll   = 25 * time.Millisecond
)

// replayedHeaders are the response headers stored with the body. A replay
// carries the original X-Request-ID, matching the requestId in a stored
// error body.
var replayedHeaders = []string{"Content-Type", "Meld-Version", "Retry-After", "Allow", "X-Request-ID"}

type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func validIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > maxIdempotencyKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] > '~' {
			return false
		}
	}
	return true
}

func (s *Server) idempotent(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			return h(w, r)
		}
		if !validIdempotencyKey(key) {
			return &banklink.Error{Code: banklink.EBADREQUEST, Field: "Idempotency-Key",
				Message: "[Idempotency-Key] must be 1 to 255 printable characters without spaces, e.g. a UUID."}
		}
		limit := s.bodyLimit(r)
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
			return banklink.Errorf(banklink.EBADREQUEST, "Request body is larger than the %d-byte limit.", limit)
		}
		if err != nil {
			return banklink.Errorf(banklink.EBADREQUEST, "Could not read the request body.")
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.Sum256([]byte(r.Method + " " + r.URL.RequestURI() + "\n" + string(body)))
		hash := hex.EncodeToString(sum[:])
		scope := apiKeyFrom(r.Context()).Scope()
		deadline := time.Now().Add(idempotencyWait)
		for {
			rec, claimed, err := s.Store.BeginIdempotent(r.Context(), scope, key, hash, s.now(), IdempotencyTTL)
			if err != nil {
				return err
			}
			if claimed {
				break
			}
			if rec.RequestHash != hash {
				return banklink.Errorf(banklink.ECONFLICT, "This Idempotency-Key was already used with a different request; use a new key for a new request.")
			}
			if rec.Status != 0 {
				for k, v := range rec.Header {
					w.Header().Set(k, v)
				}
				w.Header().Set(idempotencyReplay, "true")
				w.WriteHeader(rec.Status)
				w.Write(rec.Body)
				return nil
			}
			if time.Now().After(deadline) {
				return banklink.Errorf(banklink.ECONFLICT, "A request with this Idempotency-Key is still being processed; retry later.")
			}
			select {
			case <-r.Context().Done():
				return r.Context().Err()
			case <-time.After(idempotencyPoll):
			}
		}
		rec := &recorder{ResponseWriter: w}
		if err := h(rec, r); err != nil {
			s.writeError(rec, r, err)
		}
		// Server errors are not stored: a retry may well succeed.
		if rec.status >= 500 || rec.status == 0 {
			if err := s.Store.AbandonIdempotent(r.Context(), scope, key); err != nil {
				s.Log.Warn("abandon idempotency key", "err", err)
			}
			return nil
		}
		header := map[string]string{}
		for _, k := range replayedHeaders {
			if v := w.Header().Get(k); v != "" {
				header[k] = v
			}
		}
		if err := s.Store.FinishIdempotent(r.Context(), scope, key, &banklink.IdempotentResponse{Status: rec.status, Header: header, Body: rec.body.Bytes()}); err != nil {
			s.Log.Warn("store idempotent response", "err", err)
		}
		return nil
	}
}
