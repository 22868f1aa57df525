package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"banklink"
)

// net/http answers a request it cannot parse (a NUL or other control
// character in a header, a malformed header name, no Host) before any
// handler runs, by writing a fixed plain-text response straight to the
// connection (conn.serve in net/http/server.go):
//
//	HTTP/1.1 400 Bad Request[: <reason>]\r\n
//	Content-Type: text/plain; charset=utf-8\r\n
//	Connection: close\r\n\r\n
//	400 Bad Request[: <reason>]
//
// It is one Write of exactly those bytes, after which the connection
// closes, and no handler response ever looks like it (the server adds Date
// and Content-Length to those). WrapListener recognises that exact shape,
// for 400 and 431, and writes banklink's error body instead, with a
// request id. Anything else passes through untouched; 501 and 505, which
// net/http writes in other shapes, stay plain text.
const netHTTPErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// WrapListener returns ln with its connections' pre-handler errors in the
// error format. It is for plain-TCP listeners (banklink does not
// terminate TLS itself): under TLS the bytes it sees are encrypted.
func (s *Server) WrapListener(ln net.Listener) net.Listener { return &errorListener{ln, s} }

type errorListener struct {
	net.Listener
	s *Server
}

func (l *errorListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &errorConn{Conn: c, s: l.s}, nil
}

type errorConn struct {
	net.Conn
	s *Server
}

// CloseWrite keeps the half-close net/http uses before closing a
// connection whose request it did not read (closeWriteAndWait), so a
// client is not reset before it reads the answer.
func (c *errorConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *errorConn) Write(b []byte) (int, error) {
	status, reason, ok := parseNetHTTPError(b)
	if !ok {
		return c.Conn.Write(b)
	}
	if _, err := c.Conn.Write(c.s.preHandlerError(status, reason)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// parseNetHTTPError recognises net/http's pre-handler 400 and 431.
func parseNetHTTPError(b []byte) (status int, reason string, ok bool) {
	rest, found := bytes.CutPrefix(b, []byte("HTTP/1.1 "))
	if !found || !bytes.HasPrefix(rest, []byte("4")) {
		return 0, "", false
	}
	line, body, found := bytes.Cut(rest, []byte(netHTTPErrorHeaders))
	if !found || !bytes.Equal(line, body) || bytes.ContainsAny(line, "\r\n") {
		return 0, "", false
	}
	text := string(line)
	switch {
	case text == "431 Request Header Fields Too Large":
		return 431, "", true
	case text == "400 Bad Request":
		return 400, "", true
	case strings.HasPrefix(text, "400 Bad Request: "):
		return 400, strings.TrimPrefix(text, "400 Bad Request: "), true
	}
	return 0, "", false
}

// preHandlerError is the whole HTTP response replacing net/http's.
func (s *Server) preHandlerError(status int, reason string) []byte {
	msg := "The request is not valid HTTP: a header or the request line holds a character HTTP does not allow (such as a NUL or another control character)."
	switch {
	case status == 431:
		msg = "The request's headers are larger than this server accepts."
	case reason != "":
		msg = "The request is not valid HTTP: " + reason + "."
	}
	id := newRequestID()
	body, _ := json.Marshal(ErrorBody{Code: banklink.EBADREQUEST, Message: msg, RequestID: id, Timestamp: s.now().UTC().Format(TimestampFormat)})
	body = append(body, '\n')
	// The one log line of a request, as observe writes for the others.
	s.Log.LogAttrs(context.Background(), slog.LevelInfo, "request", slog.String("request_id", id), slog.String("route", ""),
		slog.Int("status", status), slog.String("error_code", banklink.EBADREQUEST), slog.String("reason", msg))
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nX-Request-ID: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), id, len(body), body)
}
