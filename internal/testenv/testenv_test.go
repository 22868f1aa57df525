package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that records Skipf and Fatalf instead of
// stopping the test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Skipf(f string, args ...any)  { r.skipped = fmt.Sprintf(f, args...) }
func (r *recorder) Fatalf(f string, args ...any) { r.failed = fmt.Sprintf(f, args...) }
func (r *recorder) Errorf(f string, args ...any) { r.failed = fmt.Sprintf(f, args...) }
func (r *recorder) Logf(string, ...any)          {}
func (r *recorder) Cleanup(func())               {}
func (r *recorder) Name() string                 { return "recorder" }

// TestSpecFile: a spec beside the repository is found from a package's
// directory; a missing one skips, and fails under CI=true.
func TestSpecFile(t *testing.T) {
	for _, tc := range []struct {
		name, file, ci      string
		wantSkip, wantFatal bool
	}{
		{"missing on a laptop", "no-such-spec.yml", "", true, false},
		{"missing on CI", "no-such-spec.yml", "true", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := &recorder{TB: t}
			if got := SpecFile(r, tc.file); got != "" {
				t.Errorf("SpecFile = %q", got)
			}
			if (r.skipped != "") != tc.wantSkip || (r.failed != "") != tc.wantFatal {
				t.Errorf("skipped %q, failed %q", r.skipped, r.failed)
			}
			if msg := r.skipped + r.failed; !strings.Contains(msg, tc.file) || !strings.Contains(msg, "shared/specs") {
				t.Errorf("the message %q does not say which spec is missing where", msg)
			}
		})
	}
	t.Run("present", func(t *testing.T) {
		// The specs of the providers banklink ships: the contract tests'
		// own check that they are where CI puts them.
		for _, f := range []string{"plaid-2020-09-14.yml", "mx-platform-v20111101.yml"} {
			if got := SpecFile(t, f); !strings.HasSuffix(got, "/shared/specs/"+f) {
				t.Errorf("SpecFile(%s) = %q", f, got)
			}
		}
	})
}
