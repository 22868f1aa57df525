package httpapi_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"banklink/internal/apitest"
	"banklink/internal/httpapi"

	"github.com/getkin/kin-openapi/openapi3"
)

var update = flag.Bool("update", false, "rewrite docs/api.md from openapi.yaml")

// TestAPIDoc keeps docs/api.md generated from openapi.yaml: it fails when
// the two differ; `go test ./internal/httpapi -run TestAPIDoc -update`
// rewrites the document.
func TestAPIDoc(t *testing.T) {
	doc, _ := apitest.Spec(t, httpapi.OpenAPI)
	got := renderAPIDoc(doc)
	path := filepath.Join("..", "..", "docs", "api.md")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil || string(want) != got {
		t.Fatalf("docs/api.md is out of date with openapi.yaml; run: go test ./internal/httpapi -run TestAPIDoc -update")
	}
}

func renderAPIDoc(doc *openapi3.T) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# banklink API reference\n\n<!-- Generated from internal/httpapi/openapi.yaml by TestAPIDoc; do not edit. -->\n\nVersion %s. The machine-readable description is served at `/openapi.yaml`.\n\n%s\n", doc.Info.Version, strings.TrimSpace(doc.Info.Description))
	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	for _, p := range paths {
		item := doc.Paths.Value(p)
		methods := []string{}
		for m := range item.Operations() {
			methods = append(methods, m)
		}
		slices.Sort(methods)
		for _, m := range methods {
			op := item.GetOperation(m)
			fmt.Fprintf(&b, "\n## %s %s\n\n%s\n", m, p, op.Summary)
			if op.Description != "" {
				fmt.Fprintf(&b, "\n%s\n", strings.TrimSpace(op.Description))
			}
			if len(op.Parameters) > 0 {
				b.WriteString("\n| parameter | in | type | description |\n|---|---|---|---|\n")
				for _, pr := range op.Parameters {
					v := pr.Value
					fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", v.Name, v.In, schemaType(v.Schema), oneLine(v.Description))
				}
			}
			if op.RequestBody != nil {
				for ct, mt := range op.RequestBody.Value.Content {
					fmt.Fprintf(&b, "\nRequest body (`%s`):\n\n", ct)
					fields(&b, mt.Schema)
				}
			}
			codes := []string{}
			for c := range op.Responses.Map() {
				codes = append(codes, c)
			}
			slices.Sort(codes)
			b.WriteString("\n| status | meaning |\n|---|---|\n")
			for _, c := range codes {
				fmt.Fprintf(&b, "| %s | %s |\n", c, oneLine(*op.Responses.Value(c).Value.Description))
			}
			if r := op.Responses.Value(firstSuccess(codes)); r != nil {
				for ct, mt := range r.Value.Content {
					if ct == "application/json" && mt.Schema != nil && len(mt.Schema.Value.Properties) > 0 {
						fmt.Fprintf(&b, "\nResponse %s:\n\n", firstSuccess(codes))
						fields(&b, mt.Schema)
					}
				}
			}
		}
	}
	b.WriteString("\n## Errors\n\nEvery error has the body below; `message` names the field in brackets for validation errors.\n\n")
	fields(&b, doc.Components.Schemas["Error"])
	return b.String()
}

func firstSuccess(codes []string) string {
	for _, c := range codes {
		if strings.HasPrefix(c, "2") {
			return c
		}
	}
	return ""
}

func fields(b *strings.Builder, s *openapi3.SchemaRef) {
	names := []string{}
	for n := range s.Value.Properties {
		names = append(names, n)
	}
	slices.Sort(names)
	b.WriteString("| field | type | required | description |\n|---|---|---|---|\n")
	for _, n := range names {
		p := s.Value.Properties[n]
		req := ""
		if slices.Contains(s.Value.Required, n) {
			req = "yes"
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", n, schemaType(p), req, oneLine(p.Value.Description))
	}
}

func schemaType(s *openapi3.SchemaRef) string {
	if s == nil || s.Value == nil {
		return ""
	}
	v := s.Value
	t := ""
	if v.Type != nil && len(*v.Type) > 0 {
		t = (*v.Type)[0]
	}
	if t == "array" && v.Items != nil {
		return "array of " + schemaType(v.Items)
	}
	if len(v.Enum) > 0 {
		var e []string
		for _, x := range v.Enum {
			e = append(e, fmt.Sprint(x))
		}
		return t + " (" + strings.Join(e, ", ") + ")"
	}
	return t
}

func oneLine(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(s), "\n", " "), "|", "\\|")
}
