package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"

	"banklink"
	"banklink/internal/httpx"
)

// DefaultMaxBodyBytes bounds request bodies. connect/start bodies are a few
// hundred bytes; 64 KiB leaves room without letting a client make us buffer
// megabytes.
const DefaultMaxBodyBytes = 64 << 10

// decodeBody reads a JSON object into dst (a pointer to a struct with json
// tags) and returns the top-level fields it did not know, sorted. Every
// failure is a BAD_REQUEST naming the field where there is one.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, dst any) (unknown []string, err error) {
	return s.decodeBodyLimit(w, r, dst, s.Config.MaxBodyBytes)
}

// decodeBodyLimit is decodeBody with a body limit of its own (bulk
// endpoints).
func (s *Server) decodeBodyLimit(w http.ResponseWriter, r *http.Request, dst any, limit int64) (unknown []string, err error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, banklink.Errorf(banklink.EUNSUPPORTEDTYPE, "Content-Type %q is not supported; send the body as application/json.", truncate(ct, 64))
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
		return nil, banklink.Errorf(banklink.EBADREQUEST, "Request body is larger than the %d-byte limit.", limit)
	}
	if err != nil {
		return nil, banklink.Errorf(banklink.EBADREQUEST, "Could not read the request body.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, banklink.Errorf(banklink.EBADREQUEST, "Request body is empty; send a JSON object.")
	}
	var raw map[string]json.RawMessage
	if err := strictUnmarshal(body, &raw); err != nil {
		return nil, jsonError(err)
	}
	if raw == nil {
		return nil, banklink.Errorf(banklink.EBADREQUEST, "Request body must be a JSON object, not null.")
	}
	if err := httpx.CheckJSONText(body); err != nil {
		return nil, err
	}
	known := jsonFieldNames(reflect.TypeOf(dst).Elem())
	for k := range raw {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	if err := json.Unmarshal(body, dst); err != nil {
		return nil, jsonError(err)
	}
	return unknown, nil
}

// strictUnmarshal rejects trailing data after the first JSON value.
func strictUnmarshal(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if dec.More() {
		return &json.SyntaxError{Offset: dec.InputOffset()}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &json.SyntaxError{Offset: dec.InputOffset()}
	}
	return nil
}

func jsonError(err error) error {
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if te.Field == "" {
			return banklink.Errorf(banklink.EBADREQUEST, "Request body must be a JSON object, not %s.", te.Value)
		}
		return banklink.FieldErrorf(te.Field, "must be %s, not %s", jsonTypeName(te.Type), te.Value)
	}
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return banklink.Errorf(banklink.EBADREQUEST, "Request body is not valid JSON (at byte %d).", se.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return banklink.Errorf(banklink.EBADREQUEST, "Request body is not valid JSON (it ends too early).")
	}
	return banklink.Errorf(banklink.EBADREQUEST, "Request body is not valid JSON.")
}

func jsonTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(jsonTypeName(t.Elem()), "a "), "an ") + "s"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "a number"
	}
	return t.String()
}

func jsonFieldNames(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}

// unknownFieldWarnings turns unknown field names into response warnings.
// Unknown fields are ignored rather than refused so an app written for a
// newer Meld field keeps working, but the app is told.
func unknownFieldWarnings(unknown []string) []string {
	var out []string
	for _, f := range slices.Compact(unknown) {
		out = append(out, fmt.Sprintf("Unknown field %q was ignored.", truncate(f, 64)))
	}
	return out
}
