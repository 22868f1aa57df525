// Package httpx is what banklink's HTTP adapters (the API, the widget,
// the dashboard) share without importing each other: the handler type
// that returns its error, route registration, and JSON writing and
// checking.
package httpx

import (
	"encoding/json"
	"log/slog"
	"net/http"
)

// HandlerFunc is an HTTP handler that returns its error; the server that
// registered it renders the error in banklink's error format.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Router registers handlers behind the server's middleware (request ids,
// error rendering, 405 answers): the API server is one.
type Router interface {
	Route(pattern string, h HandlerFunc)
}

// WriteJSON writes v as a JSON response.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own response types are marshalled; failing here is a bug.
		slog.Error("marshal response", slog.Any("err", err))
		http.Error(w, `{"code":"INTERNAL_ERROR","message":"Internal error."}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
