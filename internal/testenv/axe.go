package testenv

import (
	"os"
	"testing"
)

// AxeCore returns the source of axe-core (axe.min.js), the accessibility
// checker the browser tests run on each step of the widget. .ci/run
// installs it from npm and passes its path in BANKLINK_TEST_AXE; without
// it the check skips (fails on CI).
func AxeCore(tb testing.TB) string {
	tb.Helper()
	p := os.Getenv("BANKLINK_TEST_AXE")
	if p == "" {
		unavailable(tb, "accessibility checks skipped: BANKLINK_TEST_AXE is unset; run .ci/run, or npm install axe-core and set BANKLINK_TEST_AXE to its axe.min.js")
		return ""
	}
	b, err := os.ReadFile(p)
	if err != nil {
		unavailable(tb, "accessibility checks skipped: BANKLINK_TEST_AXE: %v", err)
		return ""
	}
	return string(b)
}
