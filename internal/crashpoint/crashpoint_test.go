package crashpoint

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		name, in, point string
		delay           time.Duration
	}{
		{"unset", "", "", 0},
		{"name only", "aggregation.between-passes", "aggregation.between-passes", 0},
		{"with delay", "aggregation.run-started@300ms", "aggregation.run-started", 300 * time.Millisecond},
		{"bad delay crashes at once", "x@soon", "x", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, d := parse(tt.in)
			if p != tt.point || d != tt.delay {
				t.Errorf("parse(%q) = %q, %v; want %q, %v", tt.in, p, d, tt.point, tt.delay)
			}
		})
	}
}

// TestHitElsewhereReturns: an unconfigured or other point does nothing.
func TestHitElsewhereReturns(t *testing.T) {
	old := point
	t.Cleanup(func() { point = old })
	point = ""
	Hit(BetweenPasses)
	point = RunStarted
	Hit(BetweenPasses)
}
