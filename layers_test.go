package banklink_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// adapters are the packages under internal/ that translate between
// banklink and one outside thing (HTTP, a provider's API, a database,
// webhook receivers). They are siblings: none may import another, even
// through a package in between, so that each can change alone and the
// application logic cannot hide in one of them.
var adapters = []string{"httpapi", "widget", "dashboard", "plaid", "mx", "finicity", "sandbox", "sqlstore", "webhooks"}

// application packages hold the use cases; they import no adapter.
var application = []string{"linking"}

// knownViolations are adapter imports tolerated while they are being
// removed. The list only shrinks: the test fails when one is added, and
// when one listed is gone, so that it is taken off. It is empty: keep it
// so.
var knownViolations = []string{}

// TestLayers checks the import rules of docs/development.md with go list:
// the root package imports only the standard library and banklink/webhook;
// no adapter imports another; the application imports no adapter.
func TestLayers(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	deps, standard := listDeps(t, ".", "./internal/...")
	t.Run("root", func(t *testing.T) {
		for _, d := range deps["banklink"] {
			if !standard[d] && d != "banklink/webhook" {
				t.Errorf("the root package imports %s; it may import only the standard library and banklink/webhook", d)
			}
		}
	})
	t.Run("wiring", func(t *testing.T) {
		// The composition root: the binary and the bench use it; no
		// package under internal/ may (it would depend on every adapter).
		for pkg, list := range deps {
			if strings.HasPrefix(pkg, "banklink/internal/") && !strings.HasPrefix(pkg, "banklink/internal/wiring") &&
				slices.Contains(list, "banklink/internal/wiring") {
				t.Errorf("%s imports internal/wiring; only cmd/banklink, bench and tests assemble the service", pkg)
			}
		}
	})
	t.Run("adapters", func(t *testing.T) {
		got := violations(deps, append(slices.Clone(adapters), application...))
		for _, v := range got {
			if !slices.Contains(knownViolations, v) {
				t.Errorf("%s: an adapter (or the application) imports another adapter; move what both need to the root package, internal/linking or a helper package", v)
			}
		}
		for _, v := range knownViolations {
			if !slices.Contains(got, v) {
				t.Errorf("%s no longer happens: take it off knownViolations", v)
			}
		}
	})
}

// violations lists "a -> b" for each package group a of from whose
// packages depend, directly or not, on a package of adapter b.
func violations(deps map[string][]string, from []string) []string {
	var out []string
	for _, a := range from {
		seen := map[string]bool{}
		for pkg, list := range deps {
			if groupOf(pkg) != a {
				continue
			}
			for _, d := range list {
				if b := groupOf(d); b != "" && b != a && slices.Contains(adapters, b) && !seen[b] {
					seen[b] = true
					out = append(out, a+" -> "+b)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// groupOf names the adapter or application package pkg belongs to
// (banklink/internal/plaid/fakeplaid belongs to plaid), "" for others.
func groupOf(pkg string) string {
	rest, ok := strings.CutPrefix(pkg, "banklink/internal/")
	if !ok {
		return ""
	}
	g, _, _ := strings.Cut(rest, "/")
	if slices.Contains(adapters, g) || slices.Contains(application, g) {
		return g
	}
	return ""
}

// listDeps returns, for each package of patterns and their
// dependencies, every package it depends on (not counting its tests),
// and which packages are the standard library's.
func listDeps(t *testing.T, patterns ...string) (deps map[string][]string, standard map[string]bool) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args := append([]string{"list", "-deps", "-f", "{{.ImportPath}} {{.Standard}} {{join .Deps \" \"}}"}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	deps, standard = map[string][]string{}, map[string]bool{}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			t.Fatalf("go list: unexpected line %q", sc.Text())
		}
		standard[f[0]] = f[1] == "true"
		deps[f[0]] = f[2:]
	}
	if len(deps["banklink"]) == 0 || len(deps["banklink/internal/httpapi"]) == 0 {
		t.Fatalf("go list listed neither the root nor httpapi: %d packages", len(deps))
	}
	return deps, standard
}
