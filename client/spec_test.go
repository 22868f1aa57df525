package client

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
)

// specPath is read from disk so that these tests follow every change of
// the API description.
const specPath = "../internal/httpapi/openapi.yaml"

// response says which Go type decodes an operation's answer: the whole
// body, or (for lists) the items under field.
type response struct {
	status string
	typ    any
	field  string // list envelopes: the items' property
}

func one(status string, v any) []response { return []response{{status: status, typ: v}} }
func items(field string, v any) []response {
	return []response{{status: "200", typ: v, field: field}}
}

// clientOps maps every operation the client calls to its answer's type.
var clientOps = map[string][]response{
	"createConnectToken":           one("201", ConnectStartResponse{}),
	"repairConnection":             one("201", RepairResponse{}),
	"searchConnections":            items("connections", Connection{}),
	"getConnection":                one("200", Connection{}),
	"deleteConnection":             one("200", Connection{}),
	"refreshConnection":            one("200", Accepted{}),
	"updateConnection":             one("200", Accepted{}),
	"importConnections":            one("200", ConnectionImport{}),
	"getConnectionImport":          one("200", ConnectionImport{}),
	"createProcessorToken":         one("200", ProcessorToken{}),
	"revokeProcessorToken":         one("200", ProcessorToken{}),
	"searchFinancialAccounts":      items("financialAccounts", FinancialAccount{}),
	"getFinancialAccount":          one("200", FinancialAccount{}),
	"searchTransactions":           items("financialAccountTransactions", Transaction{}),
	"getTransaction":               one("200", Transaction{}),
	"createCustomer":               {{status: "200", typ: Customer{}}, {status: "201", typ: Customer{}}},
	"searchCustomers":              items("customers", Customer{}),
	"deleteCustomer":               one("200", CustomerDeleted{}),
	"searchHoldings":               items("investmentHoldings", Holding{}),
	"getHolding":                   one("200", Holding{}),
	"searchInvestmentTransactions": items("investmentTransactions", InvestmentTransaction{}),
	"getInvestmentTransaction":     one("200", InvestmentTransaction{}),
	"searchInstitutions":           items("institutions", Institution{}),
	"getInstitution":               one("200", Institution{}),
	"searchServiceProviders":       items("serviceProviders", ServiceProviderConfig{}),
	"putServiceProvider":           {{status: "200", typ: ServiceProviderConfig{}}, {status: "201", typ: ServiceProviderConfig{}}},
	"deleteServiceProvider":        one("200", Accepted{}),
	"getRoutingRules":              one("200", RoutingRules{}),
	"putRoutingRules":              one("200", RoutingRules{}),
	"createWebhookProfile":         one("201", WebhookProfile{}),
	"searchWebhookProfiles":        items("profiles", WebhookProfile{}),
	"getWebhookProfile":            one("200", WebhookProfile{}),
	"updateWebhookProfile":         one("200", WebhookProfile{}),
	"deleteWebhookProfile":         one("200", Accepted{}),
	"rotateWebhookSecret":          one("200", WebhookProfile{}),
	"testWebhook":                  one("201", Event{}),
	"searchEvents":                 items("events", Event{}),
	"getEvent":                     one("200", EventWithDeliveries{}),
	"redeliverEvent":               one("202", Redelivery{}),
	"searchActivity":               items("activities", Activity{}),
	"healthz":                      one("200", Status{}),
	"readyz":                       one("200", Status{}),
	"widgetSession":                one("200", WidgetSession{}),
	"widgetInstitutions":           one("200", WidgetInstitutions{}),
	"widgetSelect":                 one("200", WidgetSession{}),
	"widgetConsent":                one("200", WidgetSession{}),
	"getAppProfile":                one("200", AppProfile{}),
	"updateAppProfile":             one("200", AppProfile{}),
	"widgetBack":                   one("200", WidgetSession{}),
	"widgetLogin":                  one("200", WidgetSession{}),
	"widgetMFA":                    one("200", WidgetSession{}),
	"widgetOAuth":                  one("200", WidgetSession{}),
	"widgetComplete":               one("200", WidgetCompletion{}),
}

// notInClient are the operations the client leaves out, and why. An
// operation in neither table fails TestClientCoversSpec: a new endpoint
// must be added to the client or explicitly left out.
var notInClient = map[string]string{
	"getOpenAPI":       "the API description itself",
	"metrics":          "Prometheus scrapes it",
	"providerWebhook":  "providers call it",
	"widgetClaim":      "browser tabs only: the client sends no tab id, so no tab binds its sessions",
	"widgetPage":       "HTML for browsers",
	"widgetAsset":      "CSS and JavaScript for browsers",
	"embedScript":      "JavaScript for browsers",
	"sandboxAuthorize": "HTML for browsers",
	"demoPage":         "the demo app's own page",
	"demoStart":        "the demo app's own backend",
	"demoConnection":   "the demo app's own backend",
	"widgetExit":       "the widget page's own beacon when it closes",
	"widgetLogo":       "images for browsers",
}

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	data, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func operations(doc *openapi3.T) map[string]*openapi3.Operation {
	ops := map[string]*openapi3.Operation{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			ops[op.OperationID] = op
		}
	}
	return ops
}

func TestClientCoversSpec(t *testing.T) {
	ops := operations(loadSpec(t))
	var ids []string
	for id := range ops {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		_, in := clientOps[id]
		_, out := notInClient[id]
		if !in && !out {
			t.Errorf("operation %s is neither in the client (clientOps) nor left out on purpose (notInClient)", id)
		}
	}
	for id := range clientOps {
		if ops[id] == nil {
			t.Errorf("clientOps names %s, which openapi.yaml does not have", id)
		}
	}
	t.Logf("client covers %d of %d operations", len(clientOps), len(ops))
}

// TestTypesMatchOpenAPI checks each answer type against its schema: every
// schema property has a field (and every field a property) of a matching
// kind, and every example in the spec, plus a fullest and an emptiest
// example built from the schema, survives unmarshal → struct → marshal
// unchanged.
func TestTypesMatchOpenAPI(t *testing.T) {
	doc := loadSpec(t)
	ops := operations(doc)
	specExamples := 0
	type target struct {
		name   string
		schema *openapi3.Schema
		typ    reflect.Type
		extra  []any // examples the spec gives
	}
	var targets []target
	for id, resps := range clientOps {
		op := ops[id]
		if op == nil {
			continue // TestClientCoversSpec reports it
		}
		for _, r := range resps {
			name := id + " " + r.status
			ref := op.Responses.Value(r.status)
			if ref == nil || ref.Value == nil {
				t.Errorf("%s: no such response in openapi.yaml", name)
				continue
			}
			mt := ref.Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil {
				t.Errorf("%s: no JSON schema", name)
				continue
			}
			var examples []any
			if mt.Example != nil {
				examples = append(examples, mt.Example)
			}
			for _, ex := range mt.Examples {
				if ex.Value != nil {
					examples = append(examples, ex.Value.Value)
				}
			}
			s := mt.Schema.Value
			if s.Example != nil {
				examples = append(examples, s.Example)
			}
			if r.field != "" {
				all := merged(s)
				for _, p := range []string{r.field, "remaining"} {
					if all.props[p] == nil {
						t.Errorf("%s: list envelope has no %q, which the iterator reads", name, p)
					}
				}
				if all.props[r.field] == nil {
					continue
				}
				// Examples of the envelope hold examples of the items.
				var its []any
				for _, ex := range examples {
					if m, ok := ex.(map[string]any); ok {
						if a, ok := m[r.field].([]any); ok {
							its = append(its, a...)
						}
					}
				}
				examples = its
				s = all.props[r.field].Value.Items.Value
				// And the item schema's own example (a component's).
				if s.Example != nil {
					examples = append(examples, s.Example)
				}
				name += " " + r.field + "[]"
			}
			specExamples += len(examples)
			targets = append(targets, target{name, s, reflect.TypeOf(r.typ), examples})
		}
	}
	targets = append(targets, target{"Error", doc.Components.Schemas["Error"].Value, reflect.TypeFor[Error](), nil})
	sort.Slice(targets, func(i, j int) bool { return targets[i].name < targets[j].name })
	for _, tg := range targets {
		t.Run(strings.ReplaceAll(tg.name, " ", "_"), func(t *testing.T) {
			for _, problem := range compare(tg.schema, tg.typ, tg.typ.Name()) {
				t.Error(problem)
			}
			cases := map[string]any{"fullest": example(tg.schema, true), "emptiest": example(tg.schema, false), "zeroes": zeroes(tg.schema)}
			for i, ex := range tg.extra {
				cases[fmt.Sprintf("spec example %d", i)] = ex
			}
			for name, ex := range cases {
				if diff := roundTrip(tg.typ, ex); diff != "" {
					t.Errorf("%s does not survive a round trip through %s (-spec +client):\n%s", name, tg.typ, diff)
				}
			}
		})
	}
	t.Logf("%d answer types checked; %d examples in the spec", len(targets), specExamples)
}

func roundTrip(typ reflect.Type, ex any) string {
	in, err := json.Marshal(ex)
	if err != nil {
		return err.Error()
	}
	v := reflect.New(typ)
	if err := json.Unmarshal(in, v.Interface()); err != nil {
		return "unmarshal: " + err.Error()
	}
	out, err := json.Marshal(v.Interface())
	if err != nil {
		return "marshal: " + err.Error()
	}
	var a, b any
	json.Unmarshal(in, &a)
	json.Unmarshal(out, &b)
	return cmp.Diff(a, b)
}

type props struct {
	props    map[string]*openapi3.SchemaRef
	required []string
}

// merged flattens allOf, which getEvent uses.
func merged(s *openapi3.Schema) props {
	p := props{props: map[string]*openapi3.SchemaRef{}}
	for k, v := range s.Properties {
		p.props[k] = v
	}
	p.required = append(p.required, s.Required...)
	for _, sub := range s.AllOf {
		m := merged(sub.Value)
		for k, v := range m.props {
			p.props[k] = v
		}
		p.required = append(p.required, m.required...)
	}
	return p
}

func schemaType(s *openapi3.Schema) string {
	if s.Type == nil || len(*s.Type) == 0 {
		if len(s.AllOf) > 0 || len(s.Properties) > 0 {
			return "object"
		}
		return ""
	}
	return (*s.Type)[0]
}

var rawMessage = reflect.TypeFor[json.RawMessage]()

// jsonFields returns t's fields by JSON name, through embedded structs.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && tag == "" {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f
	}
	return out
}

// compare lists where Go type t cannot hold what schema s describes.
func compare(s *openapi3.Schema, t reflect.Type, at string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessage {
		if len(s.Properties) > 0 {
			return []string{fmt.Sprintf("%s: schema has properties but the field is raw JSON", at)}
		}
		return nil
	}
	var problems []string
	bad := func(want string) []string {
		return []string{fmt.Sprintf("%s: schema type %s, Go type %s (want %s)", at, schemaType(s), t, want)}
	}
	switch schemaType(s) {
	case "object":
		all := merged(s)
		if len(all.props) == 0 && s.AdditionalProperties.Schema != nil {
			if t.Kind() != reflect.Map || t.Key().Kind() != reflect.String {
				return bad("a map")
			}
			return compare(s.AdditionalProperties.Schema.Value, t.Elem(), at+"[k]")
		}
		if len(all.props) == 0 {
			if t.Kind() != reflect.Map && t.Kind() != reflect.Interface {
				return bad("raw JSON or a map")
			}
			return nil
		}
		if t.Kind() != reflect.Struct {
			return bad("a struct")
		}
		fields := jsonFields(t)
		var names []string
		for k := range all.props {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			f, ok := fields[k]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: schema property %q has no field in %s", at, k, t))
				continue
			}
			problems = append(problems, compare(all.props[k].Value, f.Type, at+"."+k)...)
		}
		for k := range fields {
			if all.props[k] == nil {
				problems = append(problems, fmt.Sprintf("%s: field %q of %s is not in the schema", at, k, t))
			}
		}
	case "array":
		if t.Kind() != reflect.Slice {
			return bad("a slice")
		}
		return compare(s.Items.Value, t.Elem(), at+"[]")
	case "string":
		if t.Kind() != reflect.String {
			return bad("a string")
		}
	case "integer":
		if !slices.Contains([]reflect.Kind{reflect.Int, reflect.Int64, reflect.Int32}, t.Kind()) {
			return bad("an int")
		}
	case "number":
		if t.Kind() != reflect.Float64 {
			return bad("a float64")
		}
	case "boolean":
		if t.Kind() != reflect.Bool {
			return bad("a bool")
		}
	case "":
		if t.Kind() != reflect.Interface {
			return bad("raw JSON")
		}
	}
	return problems
}

// example builds a value of schema s: with every property (full) or only
// the required ones, null where nullable (!full).
func example(s *openapi3.Schema, full bool) any {
	if s.Example != nil {
		return s.Example
	}
	if len(s.Enum) > 0 {
		return s.Enum[len(s.Enum)-1]
	}
	switch schemaType(s) {
	case "object":
		all := merged(s)
		m := map[string]any{}
		if len(all.props) == 0 {
			if s.AdditionalProperties.Schema != nil {
				if full {
					m["k"] = example(s.AdditionalProperties.Schema.Value, full)
				}
				return m
			}
			// Free-form: any JSON object.
			return map[string]any{"free": []any{"form", 1.5, true, nil}}
		}
		for k, p := range all.props {
			if !full && !slices.Contains(all.required, k) {
				continue
			}
			if !full && p.Value.Nullable {
				m[k] = nil
				continue
			}
			m[k] = example(p.Value, full)
		}
		return m
	case "array":
		if !full {
			return []any{}
		}
		return []any{example(s.Items.Value, full)}
	case "string":
		switch s.Format {
		case "date-time":
			return "2026-01-02T03:04:05.000006Z"
		case "date":
			return "2026-01-02"
		}
		return "text"
	case "integer":
		return 7.0
	case "number":
		return 2.5
	case "boolean":
		return true
	}
	if !full {
		return nil
	}
	return map[string]any{"any": "json"}
}

// zeroes builds an example with every required property that is not
// nullable at its zero value ("", 0, false, [], an object of zeroes):
// the values a field tagged omitempty would drop, though the API sends
// them.
func zeroes(s *openapi3.Schema) any {
	if len(s.Enum) > 0 {
		return s.Enum[0]
	}
	switch schemaType(s) {
	case "object":
		all := merged(s)
		m := map[string]any{}
		for k, p := range all.props {
			switch {
			case !slices.Contains(all.required, k):
			case p.Value.Nullable && schemaType(p.Value) != "object":
				m[k] = nil // "" and null are one to NullString
			default:
				m[k] = zeroes(p.Value)
			}
		}
		return m
	case "array":
		return []any{}
	case "string":
		if s.Format == "date-time" || s.Format == "date" {
			return example(s, false)
		}
		return ""
	case "integer", "number":
		return 0.0
	case "boolean":
		return false
	}
	return nil
}

// ClientOperationIDs lists the operations the client calls, for the
// tests of package client_test.
func ClientOperationIDs() []string {
	var ids []string
	for id := range clientOps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// IdempotentOperationIDs says which operations openapi.yaml lists an
// Idempotency-Key header for, for the tests of package client_test.
func IdempotentOperationIDs() map[string]bool {
	data, err := os.ReadFile(specPath)
	if err != nil {
		panic(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		panic(err)
	}
	out := map[string]bool{}
	for id, op := range operations(doc) {
		for _, p := range op.Parameters {
			if p.Value != nil && p.Value.In == "header" && strings.EqualFold(p.Value.Name, "Idempotency-Key") {
				out[id] = true
			}
		}
	}
	return out
}

// RoundTripAnswer decodes a body the server answered operation id with
// into the client's type for it (each item, for a list) and encodes it
// again, and returns how the result differs from the body ("" when it
// does not), for the tests of package client_test.
func RoundTripAnswer(id, status string, body []byte) string {
	var r *response
	for i, x := range clientOps[id] {
		if x.status == status {
			r = &clientOps[id][i]
		}
	}
	if r == nil {
		return fmt.Sprintf("clientOps has no type for %s %s", id, status)
	}
	var whole any
	if err := json.Unmarshal(body, &whole); err != nil {
		return err.Error()
	}
	typ := reflect.TypeOf(r.typ)
	if r.field == "" {
		return roundTrip(typ, whole)
	}
	env, _ := whole.(map[string]any)
	items, _ := env[r.field].([]any)
	var diffs []string
	for i, it := range items {
		if d := roundTrip(typ, it); d != "" {
			diffs = append(diffs, fmt.Sprintf("%s[%d]: %s", r.field, i, d))
		}
	}
	return strings.Join(diffs, "\n")
}
