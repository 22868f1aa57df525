package testenv

import (
	"strings"
	"testing"
	"time"
)

func TestEventually(t *testing.T) {
	for _, tt := range []struct {
		name     string
		trueFrom int // the call from which cond holds; 0: never
		fails    bool
	}{
		{"holds at once", 1, false},
		{"holds after a few polls", 4, false},
		{"never holds", 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			r := &recorder{TB: t}
			Eventually(r, 200*time.Millisecond, "the thing", func() bool {
				calls++
				return tt.trueFrom > 0 && calls >= tt.trueFrom
			})
			if got := r.failed != ""; got != tt.fails {
				t.Fatalf("failed = %v (%q), want %v", got, r.failed, tt.fails)
			}
			if tt.fails && !strings.Contains(r.failed, "the thing") {
				t.Errorf("the failure %q does not say what was awaited", r.failed)
			}
			if !tt.fails && calls != tt.trueFrom {
				t.Errorf("cond called %d times, want %d", calls, tt.trueFrom)
			}
		})
	}
}
