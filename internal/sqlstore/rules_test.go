package sqlstore

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"

	"banklink"
)

func TestSQLList(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
		want string
	}{
		{"one", []string{"ACTIVE"}, `('ACTIVE')`},
		{"several, in order", []string{"B", "A"}, `('B', 'A')`},
		{"quote doubled", []string{"it's"}, `('it''s')`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sqlList(tc.in); got != tc.want {
				t.Errorf("sqlList(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

// indexDef matches a partial index in a migration: its name, its table
// and its predicate.
var indexDef = regexp.MustCompile(`(?is)CREATE\s+INDEX\s+(\w+)\s+ON\s+(\w+)\s*\([^)]*\)\s+WHERE\s+(.+?);`)

// partialIndexes returns the predicates of dialect's partial indexes on
// table by name, whitespace collapsed, as the last migration defining
// each leaves it.
func partialIndexes(t *testing.T, dialect, table string) map[string]string {
	t.Helper()
	files, err := fs.Glob(migrations, path.Join("migrations", dialect, "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations of %s: %v (%d files)", dialect, err, len(files))
	}
	out := map[string]string{}
	for _, f := range files { // fs.Glob sorts: version order
		b, err := fs.ReadFile(migrations, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range indexDef.FindAllStringSubmatch(string(b), -1) {
			if m[2] == table {
				out[m[1]] = strings.Join(strings.Fields(m[3]), " ")
			}
		}
	}
	return out
}

// TestIndexPredicatesMatchRules: the partial indexes on connections whose
// predicate names statuses hold exactly the list the code renders from the
// rule, in the same order. Otherwise the planner no longer proves the
// query's condition implies the index's and walks every connection.
func TestIndexPredicatesMatchRules(t *testing.T) {
	rendered := map[string]string{
		"connections_refresh_due": refreshDue,
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			got := partialIndexes(t, dialect, "connections")
			for name, want := range rendered {
				if got[name] != want {
					t.Errorf("index %s: migration predicate %q, code renders %q", name, got[name], want)
				}
			}
			for name, pred := range got {
				if _, ok := rendered[name]; !ok && strings.Contains(pred, "status") {
					t.Errorf("index %s filters on status (%s) but no rule renders its list: add it here", name, pred)
				}
			}
		})
	}
}

// TestRenderedRulesAgree evaluates each rendered SQL condition on SQLite
// for every status and compares it with the Go rule it comes from.
func TestRenderedRulesAgree(t *testing.T) {
	db := planDB(t)
	for _, tc := range []struct {
		name string
		cond string
		rule func(banklink.ConnectionStatus, string) bool
	}{
		{"linked", linked, func(s banklink.ConnectionStatus, _ string) bool { return s.Linked() }},
		{"refresh due", refreshDue, func(s banklink.ConnectionStatus, _ string) bool { return s.RefreshedOnSchedule() }},
		{"repairable", repairable, func(s banklink.ConnectionStatus, reason string) bool {
			return (&banklink.Connection{Status: s, StatusReason: reason}).Repairable()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range banklink.ConnectionStatuses {
				for _, reason := range statusReasons {
					var got bool
					if err := db.r.QueryRow(`SELECT `+tc.cond+` FROM (SELECT $1 AS status, $2 AS status_reason)`, string(s), reason).Scan(&got); err != nil {
						t.Fatal(err)
					}
					if want := tc.rule(s, reason); got != want {
						t.Errorf("%s / %q: SQL says %v, Go says %v", s, reason, got, want)
					}
				}
			}
		})
	}
}

// statusReasons are the reasons the rules are evaluated with: every one
// banklink sets, and none.
var statusReasons = []string{"", "ACCESS_EXPIRING_SOON", "NEW_ACCOUNTS_AVAILABLE", "INACTIVE_DUPLICATE", "LOGIN_REQUIRED",
	"INSTITUTION_ACTION_REQUIRED", "INSTITUTION_CURRENTLY_UNAVAILABLE", "SERVICE_PROVIDER_CURRENTLY_UNAVAILABLE", "CONTINUED_AGGREGATION_FAILURES"}

// TestMigrationsNumberedInStep: both dialects hold the same migrations,
// numbered 1, 2, 3… without a gap. Branches reserve numbers while they are
// apart; a gap left after merging means one was renumbered on one side
// only, or a migration is missing from a dialect.
func TestMigrationsNumberedInStep(t *testing.T) {
	names := map[string][]string{}
	for _, dialect := range []string{"sqlite", "postgres"} {
		files, err := fs.Glob(migrations, path.Join("migrations", dialect, "*.sql"))
		if err != nil || len(files) == 0 {
			t.Fatalf("migrations of %s: %v (%d files)", dialect, err, len(files))
		}
		for i, f := range files {
			base := path.Base(f)
			if want := fmt.Sprintf("%05d_", i+1); !strings.HasPrefix(base, want) {
				t.Errorf("%s: migration %d is %s, want a name starting %s", dialect, i+1, base, want)
			}
			names[dialect] = append(names[dialect], base)
		}
	}
	if a, b := strings.Join(names["sqlite"], "\n"), strings.Join(names["postgres"], "\n"); a != b {
		t.Errorf("the dialects' migrations differ:\nsqlite:\n%s\npostgres:\n%s", a, b)
	}
}
