// Package crashpoint kills the process with SIGKILL at a named point of
// the code when the environment asks for it. Crash tests use it to kill a
// real banklink process at the worst moment (between two aggregation
// passes, right after a refresh was accepted), which a kill timed from
// outside hits only by luck.
//
// BANKLINK_TEST_CRASHPOINT=name kills at the first Hit(name);
// name@duration waits that long first (so that, say, an HTTP answer
// already written reaches the client). Unset, Hit costs a comparison.
package crashpoint

import (
	"os"
	"strings"
	"time"
)

// Env names the variable read at start.
const Env = "BANKLINK_TEST_CRASHPOINT"

var point, delay = parse(os.Getenv(Env))

func parse(v string) (string, time.Duration) {
	name, after, ok := strings.Cut(v, "@")
	if !ok {
		return name, 0
	}
	d, err := time.ParseDuration(after)
	if err != nil {
		// A typo must not silently disable a crash test: crash at once.
		return name, 0
	}
	return name, d
}

// Hit kills the process if name is the configured crash point.
func Hit(name string) {
	if point == "" || name != point {
		return
	}
	time.Sleep(delay)
	p, err := os.FindProcess(os.Getpid())
	if err == nil {
		p.Kill() // SIGKILL on Unix: no deferred function, no flush runs
	}
	select {} // never return into the code after the crash point
}

// Names of the crash points, for tests.
const (
	// BetweenPasses: the initial window of a connection's first
	// aggregation is saved, the two-year historical pass not yet read.
	BetweenPasses = "aggregation.between-passes"
	// RunStarted: an aggregation run began (after its work was accepted
	// and, for an API request, answered).
	RunStarted = "aggregation.run-started"
	// BetweenChunks: the first chunk of a large background save on
	// SQLite is committed, the rest of the save not yet written.
	BetweenChunks = "aggregation.between-chunks"
)
