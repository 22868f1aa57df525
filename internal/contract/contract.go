// Package contract holds banklink's provider fakes to the providers'
// official OpenAPI specs, for tests.
//
// banklink's Plaid and MX adapters are tested against fakes written in this
// project (fakeplaid, fakemx). A fake that shares the adapter's mistakes
// hides them, so every fake serves through a Checker: each request an
// adapter sends and each response the fake returns is validated against
// the provider's spec (kin-openapi's openapi3filter), and so is every
// webhook body the fake sends. Any mismatch fails the test that used the
// fake, when the fake stops.
//
// Besides what kin-openapi checks (types, required keys, nullability,
// enums, formats, statuses, content types), a Checker reports members the
// spec does not declare: an object member outside the schema's properties
// (its own, its allOf parts', and those of the anyOf/oneOf branches the
// value matches), and query parameters the operation does not list.
// kin-openapi follows JSON Schema there (a schema that says nothing about
// additionalProperties allows any member) and has no option to change
// that; closing the spec's schemas with additionalProperties: false would
// break allOf (each part validates the whole object alone and would refuse
// its siblings' members). Members are reported even where the spec says
// additionalProperties: true, as 1,144 of Plaid's schemas do: that tells
// clients to tolerate fields Plaid may add later, which the adapters do,
// but a fake that sends a field the spec does not name has invented it.
// Only maps (additionalProperties given a schema) and free-form objects
// (no properties declared) take any member.
//
// The specs are read from testenv.SpecsDir, each once per test binary.
// Where the folder is missing a test using a fake skips (fails under
// CI=true), as tests needing PostgreSQL or Chromium do.
package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"banklink/internal/testenv"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Spec is a provider's official API spec.
type Spec struct {
	// Name is the provider ("plaid", "mx").
	Name string
	// File is the spec's file name in testenv.SpecsDir.
	File string
	// MediaTypes are JSON media types of the API besides
	// application/json (MX's versioned one).
	MediaTypes []string
	// Fixes corrects defects of the spec where it contradicts itself
	// (a schema against its own description or examples), applied once
	// after loading; each says which of the spec's own texts it follows.
	// The file is never edited.
	Fixes func(doc *openapi3.T)

	once     sync.Once
	doc      *openapi3.T
	router   routers.Router
	webhooks map[string]*openapi3.SchemaRef
	err      error
}

// The specs banklink's provider adapters follow.
var (
	// Plaid is the Plaid API, version 2020-09-14 (the Plaid-Version
	// banklink sends).
	Plaid = &Spec{Name: "plaid", File: "plaid-2020-09-14.yml"}
	// MX is MX's Platform API, version 2011-11-01: the
	// application/vnd.mx.api.v1+json API banklink asks for.
	MX = &Spec{Name: "mx", File: "mx-platform-v20111101.yml", MediaTypes: []string{"application/vnd.mx.api.v1+json"}}
	// Finicity is Mastercard Open Finance US (Finicity), version 1.42.0.
	Finicity = &Spec{Name: "finicity", File: "mastercard-openbanking-us.yaml", Fixes: finicityFixes}
)

// finicityFixes corrects where Finicity's spec contradicts itself:
//
//   - ErrorMessage.code is declared "type: object", yet its description
//     says it "can be returned as a number or a string" and every example
//     is a string ("10023"): it takes a string or a number;
//   - some schemas require members they do not declare (CustomerAccount
//     requires accountNickname; AccountOwnerDetails requires
//     nameClassificationConfidenceScore, as its examples spell it, but
//     declares nameClassificationconfidencescore): a required member is
//     declared, with the schema of a declared one spelt the same but for
//     case, else with any value.
func finicityFixes(doc *openapi3.T) {
	if em := doc.Components.Schemas["ErrorMessage"]; em != nil && em.Value != nil {
		if code := em.Value.Properties["code"]; code != nil && code.Value != nil {
			code.Value = &openapi3.Schema{Description: code.Value.Description, OneOf: openapi3.SchemaRefs{
				openapi3.NewSchemaRef("", openapi3.NewStringSchema()), openapi3.NewSchemaRef("", openapi3.NewFloat64Schema())}}
		}
	}
	for _, s := range doc.Components.Schemas {
		if s == nil || s.Value == nil || len(s.Value.Properties) == 0 {
			continue
		}
		for _, name := range s.Value.Required {
			if _, ok := s.Value.Properties[name]; ok {
				continue
			}
			decl := openapi3.NewSchemaRef("", &openapi3.Schema{})
			for k, p := range s.Value.Properties {
				if strings.EqualFold(k, name) {
					decl = p
				}
			}
			s.Value.Properties[name] = decl
		}
	}
}

// Doc returns the spec, loaded once per test binary. Without the spec file
// the test skips (fails under CI=true).
func (s *Spec) Doc(tb testing.TB) *openapi3.T {
	tb.Helper()
	path := testenv.SpecFile(tb, s.File)
	s.once.Do(func() { s.load(path) })
	if s.err != nil {
		tb.Fatalf("%s spec %s: %v", s.Name, s.File, s.err)
	}
	return s.doc
}

func (s *Spec) load(path string) {
	for _, mt := range s.MediaTypes {
		openapi3filter.RegisterBodyDecoder(mt, openapi3filter.JSONBodyDecoder)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		s.err = err
		return
	}
	// The fakes listen on 127.0.0.1, not on the spec's hosts: routes are
	// matched on the path alone.
	doc.Servers = nil
	if s.Fixes != nil {
		s.Fixes(doc)
	}
	// Both specs carry examples that do not match their own schemas
	// (Plaid's ConnectedApplication, MX's MemberResponse); that is the
	// spec's business, not the fakes'.
	router, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
	if err != nil {
		s.err = err
		return
	}
	s.doc, s.router = doc, router
	s.webhooks = webhookSchemas(doc)
}

// webhookSchemas indexes Plaid's webhook schemas by "TYPE CODE": the
// component schemas with webhook_type and webhook_code properties, whose
// descriptions name their values ("`TRANSACTIONS`"). Processor variants
// (for processor tokens, not Items) come second.
func webhookSchemas(doc *openapi3.T) map[string]*openapi3.SchemaRef {
	out := map[string]*openapi3.SchemaRef{}
	names := make([]string, 0, len(doc.Components.Schemas))
	for name := range doc.Components.Schemas {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		pa, pb := strings.HasPrefix(a, "Processor"), strings.HasPrefix(b, "Processor")
		if pa != pb {
			if pa {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	for _, name := range names {
		ref := doc.Components.Schemas[name]
		if ref.Value == nil {
			continue
		}
		typ, code := ref.Value.Properties["webhook_type"], ref.Value.Properties["webhook_code"]
		if typ == nil || code == nil || typ.Value == nil || code.Value == nil {
			continue
		}
		key := strings.Trim(typ.Value.Description, "`") + " " + strings.Trim(code.Value.Description, "`")
		if _, seen := out[key]; !seen {
			out[key] = ref
		}
	}
	return out
}

// Options configure a Checker.
type Options struct {
	// Exempt lists path prefixes of pages the fake serves that are not
	// part of the provider's API (Plaid's Hosted Link page, MX Connect):
	// they pass unchecked. Anything else not in the spec is a violation.
	Exempt []string
}

// Checker validates one fake's traffic. It is safe for concurrent use.
type Checker struct {
	spec *Spec
	tb   testing.TB
	opts Options

	mu         sync.Mutex
	violations []string
	seen       map[string]int
	requests   int
	responses  int
	webhooks   int
}

// Server starts h, a fake of the spec's provider, behind a Checker. When
// the test ends the server is closed and every violation is reported as a
// test failure.
func (s *Spec) Server(tb testing.TB, h http.Handler, opts Options) (*httptest.Server, *Checker) {
	tb.Helper()
	s.Doc(tb)
	c := &Checker{spec: s, tb: tb, opts: opts, seen: map[string]int{}}
	srv := httptest.NewServer(c.wrap(h))
	tb.Cleanup(func() {
		// Closing waits for requests in flight: their findings count.
		srv.Close()
		c.report()
	})
	return srv, c
}

// Counts are what a Checker validated.
type Counts struct {
	Requests, Responses, Webhooks, Violations int
}

// Counts returns what c validated so far.
func (c *Checker) Counts() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Counts{c.requests, c.responses, c.webhooks, len(c.violations)}
}

// Violations returns the violations found so far, each once.
func (c *Checker) Violations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.violations)
}

// Forget drops the violations found so far: for the validator's own
// tests, which make them on purpose.
func (c *Checker) Forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.violations, c.seen = nil, map[string]int{}
}

func (c *Checker) violation(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[msg]++; c.seen[msg] == 1 {
		c.violations = append(c.violations, msg)
	}
}

// report fails the test with the violations and records the counts
// (BANKLINK_CONTRACT_STATS names a file the counts are appended to, one
// line per fake: the suite's totals are their sums).
func (c *Checker) report() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range c.violations {
		if n := c.seen[v]; n > 1 {
			v += fmt.Sprintf(" (%d times)", n)
		}
		c.tb.Errorf("%s contract violation: %s", c.spec.Name, v)
	}
	c.tb.Logf("%s contract: %d requests, %d responses, %d webhooks validated; %d violations",
		c.spec.Name, c.requests, c.responses, c.webhooks, len(c.violations))
	if path := os.Getenv("BANKLINK_CONTRACT_STATS"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			c.tb.Errorf("BANKLINK_CONTRACT_STATS: %v", err)
			return
		}
		defer f.Close()
		// One write: appends from test binaries running side by side
		// do not interleave.
		fmt.Fprintf(f, "%s %d %d %d %d %s\n", c.spec.Name, c.requests, c.responses, c.webhooks, len(c.violations), c.tb.Name())
	}
}

// wrap returns h with every request and response checked.
func (c *Checker) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range c.opts.Exempt {
			if strings.HasPrefix(r.URL.Path, p) {
				h.ServeHTTP(w, r)
				return
			}
		}
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			c.violation("%s %s: reading the request: %v", r.Method, r.URL.Path, err)
		}
		route, params, err := c.spec.router.FindRoute(pathOnly(r, body))
		if err != nil {
			c.violation("%s %s is not in the %s spec: %v", r.Method, r.URL.Path, c.spec.Name, err)
			r.Body = io.NopCloser(bytes.NewReader(body))
			h.ServeHTTP(w, r)
			return
		}
		c.checkRequest(r, body, route, params)
		rec := httptest.NewRecorder()
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(rec, r)
		if r.Context().Err() != nil {
			// The client gave up (its timeout): no answer reached it.
			return
		}
		res := rec.Result()
		out := rec.Body.Bytes()
		c.checkResponse(r, body, route, params, res, out)
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		w.Write(out)
	})
}

// pathOnly is r as the router matches it: on its path, without the
// fake's host.
func pathOnly(r *http.Request, body []byte) *http.Request {
	rr := r.Clone(context.Background())
	rr.URL.Scheme, rr.URL.Host, rr.Host = "", "", ""
	rr.Body = io.NopCloser(bytes.NewReader(body))
	return rr
}

var noAuth = openapi3filter.NoopAuthenticationFunc

func schemaOptions() []openapi3.SchemaValidationOption {
	return []openapi3.SchemaValidationOption{openapi3.EnableFormatValidation()}
}

func (c *Checker) checkRequest(r *http.Request, body []byte, route *routers.Route, params map[string]string) {
	c.mu.Lock()
	c.requests++
	c.mu.Unlock()
	what := r.Method + " " + route.Path
	in := &openapi3filter.RequestValidationInput{Request: pathOnly(r, body), PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: noAuth, SkipSettingDefaults: true,
			RejectWhenRequestBodyNotSpecified: true, SchemaValidationOptions: schemaOptions()}}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		for _, f := range findings(err) {
			c.violation("%s request: %s", what, f)
		}
	}
	// Query parameters the operation does not list.
	declared := map[string]bool{}
	for _, list := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range list {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				declared[p.Value.Name] = true
			}
		}
	}
	for name := range r.URL.Query() {
		if !declared[name] {
			c.violation("%s: query parameter %q is not in the spec", what, name)
		}
	}
	if len(bytes.TrimSpace(body)) == 0 || route.Operation.RequestBody == nil || route.Operation.RequestBody.Value == nil {
		return
	}
	mt := route.Operation.RequestBody.Value.Content.Get(mediaType(r.Header.Get("Content-Type")))
	if mt == nil {
		return
	}
	c.undocumented(what+" request", mt.Schema, body)
}

func (c *Checker) checkResponse(r *http.Request, reqBody []byte, route *routers.Route, params map[string]string, res *http.Response, body []byte) {
	what := fmt.Sprintf("%s %s: %d response", r.Method, route.Path, res.StatusCode)
	resp := route.Operation.Responses.Status(res.StatusCode)
	if resp == nil {
		resp = route.Operation.Responses.Default()
	}
	if resp == nil && res.StatusCode >= 400 {
		// The spec documents no error answers here (MX's documents
		// none at all): nothing to hold the fake's error to.
		return
	}
	c.mu.Lock()
	c.responses++
	c.mu.Unlock()
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: pathOnly(r, reqBody), PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: noAuth}},
		Status: res.StatusCode, Header: res.Header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, AuthenticationFunc: noAuth,
			SchemaValidationOptions: schemaOptions()},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		for _, f := range findings(err) {
			c.violation("%s: %s", what, f)
		}
	}
	if resp == nil || resp.Value == nil || len(bytes.TrimSpace(body)) == 0 {
		return
	}
	mt := resp.Value.Content.Get(mediaType(res.Header.Get("Content-Type")))
	if mt == nil {
		return
	}
	c.undocumented(what, mt.Schema, body)
}

// CheckWebhook validates a webhook body the fake is about to send against
// the spec's schema for its webhook_type and webhook_code.
func (c *Checker) CheckWebhook(body []byte) {
	c.mu.Lock()
	c.webhooks++
	c.mu.Unlock()
	var head struct {
		Type string `json:"webhook_type"`
		Code string `json:"webhook_code"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		c.violation("webhook body is not JSON: %v", err)
		return
	}
	what := "webhook " + head.Type + " " + head.Code
	schema := c.spec.webhooks[head.Type+" "+head.Code]
	if schema == nil {
		c.violation("%s is not in the %s spec", what, c.spec.Name)
		return
	}
	var v any
	json.Unmarshal(body, &v)
	opts := append(schemaOptions(), openapi3.MultiErrors(), openapi3.VisitAsResponse())
	if err := schema.Value.VisitJSON(v, opts...); err != nil {
		for _, f := range findings(err) {
			c.violation("%s: %s", what, f)
		}
	}
	c.undocumented(what, schema, body)
}

// undocumented reports the members of body that schema does not declare.
func (c *Checker) undocumented(what string, schema *openapi3.SchemaRef, body []byte) {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return
	}
	var paths []string
	Undocumented(schema, v, "$", &paths)
	for _, p := range paths {
		c.violation("%s: %s is not in the spec", what, p)
	}
}

// Undocumented appends to out the paths of the members of v (a decoded
// JSON value) that ref does not declare: see the package comment. Array
// elements are named [] so that one finding covers every element.
func Undocumented(ref *openapi3.SchemaRef, v any, path string, out *[]string) {
	if ref == nil || ref.Value == nil || v == nil {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		props, extra, open := members(ref.Value, x)
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			switch p, ok := props[k]; {
			case ok:
				Undocumented(p, x[k], path+"."+k, out)
			case extra != nil:
				Undocumented(extra, x[k], path+"."+k, out)
			case !open:
				if p := path + "." + k; !slices.Contains(*out, p) {
					*out = append(*out, p)
				}
			}
		}
	case []any:
		items := itemsOf(ref.Value, x)
		for _, e := range x {
			Undocumented(items, e, path+"[]", out)
		}
	}
}

// members returns the properties an object may have under s: its own,
// its allOf parts', and those of the anyOf/oneOf branches v matches (of
// every branch when it matches none: the validator reports that). A
// property several of them declare must satisfy each declaration, so its
// members are the union of theirs: its schema is their allOf. extra is
// the schema of any other member when additionalProperties is a schema;
// open says the object is free-form (nothing declared).
func members(s *openapi3.Schema, v map[string]any) (props map[string]*openapi3.SchemaRef, extra *openapi3.SchemaRef, open bool) {
	all := map[string][]*openapi3.SchemaRef{}
	closed := false
	var collect func(s *openapi3.Schema, depth int)
	collect = func(s *openapi3.Schema, depth int) {
		if s == nil || depth > 16 {
			return
		}
		for k, p := range s.Properties {
			all[k] = append(all[k], p)
		}
		if s.AdditionalProperties.Schema != nil && extra == nil {
			extra = s.AdditionalProperties.Schema
		}
		if has := s.AdditionalProperties.Has; has != nil && !*has {
			closed = true
		}
		for _, part := range s.AllOf {
			collect(part.Value, depth+1)
		}
		for _, branches := range []openapi3.SchemaRefs{s.AnyOf, s.OneOf} {
			var matched []*openapi3.Schema
			for _, b := range branches {
				if b.Value != nil && b.Value.VisitJSON(v, openapi3.VisitAsResponse()) == nil {
					matched = append(matched, b.Value)
				}
			}
			if len(matched) == 0 {
				for _, b := range branches {
					matched = append(matched, b.Value)
				}
			}
			for _, m := range matched {
				collect(m, depth+1)
			}
		}
	}
	collect(s, 0)
	props = make(map[string]*openapi3.SchemaRef, len(all))
	for k, refs := range all {
		props[k] = join(refs)
	}
	return props, extra, len(props) == 0 && extra == nil && !closed
}

// join is one schema requiring each of refs.
func join(refs []*openapi3.SchemaRef) *openapi3.SchemaRef {
	if len(refs) == 1 {
		return refs[0]
	}
	return &openapi3.SchemaRef{Value: &openapi3.Schema{AllOf: refs}}
}

// itemsOf returns the schema of an array's elements.
func itemsOf(s *openapi3.Schema, v []any) *openapi3.SchemaRef {
	var refs []*openapi3.SchemaRef
	if s.Items != nil {
		refs = append(refs, s.Items)
	}
	for _, part := range s.AllOf {
		if part.Value != nil {
			if it := itemsOf(part.Value, v); it != nil {
				refs = append(refs, it)
			}
		}
	}
	if len(refs) == 0 {
		return nil
	}
	return join(refs)
}

func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.TrimSpace(mt)
}

// findings lists what err, a kin-openapi validation error, found wrong:
// one line each, naming the JSON pointer (array indexes as *, so that one
// finding covers every element) and the reason, without the schema and
// value dumps kin-openapi adds.
func findings(err error) []string {
	var out []string
	var walk func(err error, prefix string)
	walk = func(err error, prefix string) {
		var me openapi3.MultiError
		switch e := err.(type) {
		case nil:
		case openapi3.MultiError:
			for _, x := range e {
				walk(x, prefix)
			}
		case *openapi3filter.RequestError:
			p := prefix
			if e.Parameter != nil {
				p += fmt.Sprintf("parameter %s %q: ", e.Parameter.In, e.Parameter.Name)
			}
			if e.Err == nil {
				out = append(out, p+e.Reason)
				return
			}
			walk(e.Err, p)
		case *openapi3filter.ResponseError:
			if e.Err == nil {
				out = append(out, prefix+e.Reason)
				return
			}
			walk(e.Err, prefix)
		case *openapi3.SchemaError:
			if e.Origin != nil && errors.As(e.Origin, &me) {
				walk(me, prefix)
				return
			}
			at := "/" + strings.Join(e.JSONPointer(), "/")
			at = indexes.ReplaceAllString(at, "/*$1")
			reason := e.Reason
			if reason == "" && e.Origin != nil {
				reason = e.Origin.Error()
			}
			if reason == "" {
				reason = "does not match " + e.SchemaField
			}
			if len(reason) > 160 {
				reason = reason[:160] + "…"
			}
			out = append(out, prefix+"at "+at+": "+reason)
		default:
			if errors.As(err, &me) {
				walk(me, prefix)
				return
			}
			msg := err.Error()
			if i := strings.Index(msg, "\nSchema:"); i >= 0 {
				msg = msg[:i]
			}
			out = append(out, prefix+msg)
		}
	}
	walk(err, "")
	return out
}

var indexes = regexp.MustCompile(`/[0-9]+(/|$)`)

// Example returns, as JSON, the example the spec gives for the success
// answer of method path (its lowest 2xx status): the answer's own example
// (the first of its examples, by name), or else one composed from the
// examples of its schema's properties, as MX's spec gives them.
func (s *Spec) Example(tb testing.TB, method, path string) []byte {
	tb.Helper()
	doc := s.Doc(tb)
	item := doc.Paths.Value(path)
	if item == nil || item.GetOperation(method) == nil {
		tb.Fatalf("%s spec: no %s %s", s.Name, method, path)
	}
	op := item.GetOperation(method)
	var resp *openapi3.ResponseRef
	for code := 200; code < 300 && resp == nil; code++ {
		resp = op.Responses.Status(code)
	}
	if resp == nil || resp.Value == nil || len(resp.Value.Content) == 0 {
		tb.Fatalf("%s spec: %s %s has no success answer with a body", s.Name, method, path)
	}
	var mt *openapi3.MediaType
	for _, name := range append([]string{"application/json"}, s.MediaTypes...) {
		if mt = resp.Value.Content.Get(name); mt != nil {
			break
		}
	}
	if mt == nil {
		tb.Fatalf("%s spec: %s %s answers no JSON", s.Name, method, path)
	}
	var v any
	switch {
	case len(mt.Examples) > 0:
		names := make([]string, 0, len(mt.Examples))
		for name := range mt.Examples {
			names = append(names, name)
		}
		slices.Sort(names)
		if ex := mt.Examples[names[0]]; ex != nil && ex.Value != nil {
			v = ex.Value.Value
		}
	case mt.Example != nil:
		v = mt.Example
	default:
		v = composed(mt.Schema, 0)
	}
	if v == nil {
		tb.Fatalf("%s spec: %s %s gives no example", s.Name, method, path)
	}
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatalf("%s spec: %s %s: %v", s.Name, method, path, err)
	}
	return b
}

// composed is an example value for ref built from the examples its
// schema and its properties give (nil where there are none).
func composed(ref *openapi3.SchemaRef, depth int) any {
	if ref == nil || ref.Value == nil || depth > 12 {
		return nil
	}
	sc := ref.Value
	if sc.Example != nil {
		return sc.Example
	}
	if len(sc.AllOf) > 0 {
		out := map[string]any{}
		for _, part := range sc.AllOf {
			if m, ok := composed(part, depth+1).(map[string]any); ok {
				maps.Copy(out, m)
			}
		}
		return out
	}
	if sc.Type.Is(openapi3.TypeArray) {
		if item := composed(sc.Items, depth+1); item != nil {
			return []any{item}
		}
		return []any{}
	}
	if sc.Type.Is(openapi3.TypeObject) || len(sc.Properties) > 0 {
		out := map[string]any{}
		for name, p := range sc.Properties {
			if v := composed(p, depth+1); v != nil {
				out[name] = v
			}
		}
		return out
	}
	return nil
}
