package widget_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"banklink/internal/sandbox"
	"banklink/internal/testenv"
)

// BenchmarkWidgetSteps times each step of a widget flow (select, login,
// complete) through HTTP on an otherwise idle stack, on SQLite and on
// PostgreSQL, and reports each step's median in ms. It measures what a
// step costs in waits for the database (on PostgreSQL every statement is
// a round trip), which the mixed load's tails hide; the aggregation that
// follows each flow is waited for outside the timing.
func BenchmarkWidgetSteps(b *testing.B) {
	for _, d := range []struct {
		name string
		dsn  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return b.TempDir() + "/steps.db" }},
		{"postgres", func(b *testing.B) string { return testenv.PostgresDSN(b) }},
	} {
		b.Run(d.name, func(b *testing.B) {
			rs := newReplicaSet(b, d.dsn(b), 1)
			steps := map[string][]time.Duration{}
			timed := func(name string, f func() map[string]any) map[string]any {
				t0 := time.Now()
				out := f()
				steps[name] = append(steps[name], time.Since(t0))
				return out
			}
			for b.Loop() {
				b.StopTimer()
				_, tok := rs.start()
				b.StartTimer()
				timed("select", func() map[string]any {
					return rs.must(0, tok, "select", fmt.Sprintf(`{"institutionId":%q}`, sandbox.TestBankID))
				})
				s := timed("login", func() map[string]any {
					return rs.must(0, tok, "login", `{"credentials":{"username":"user_good","password":"pass_good"}}`)
				})
				var ids []string
				for _, a := range s["accounts"].([]any) {
					ids = append(ids, fmt.Sprintf("%q", a.(map[string]any)["id"]))
				}
				timed("complete", func() map[string]any {
					return rs.must(0, tok, "complete", `{"consent":true,"accountIds":[`+strings.Join(ids, ",")+`]}`)
				})
				b.StopTimer()
				rs.waitIdle()
				b.StartTimer()
			}
			for name, ds := range steps {
				slices.Sort(ds)
				b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, name+"-p50-ms")
			}
		})
	}
}
