package main

import (
	"testing"
	"time"

	"banklink/internal/crashpoint"
)

// TestCrashBetweenChunksKeepsHistory: on SQLite a background aggregation
// writes its new transactions in short transactions before the one that
// completes the save (internal/sqlstore/chunked.go). SIGKILL after the
// first of them: the restarted process must still store the whole
// two-year history once and announce it once.
func TestCrashBetweenChunksKeepsHistory(t *testing.T) {
	store := backends[0].args(t) // SQLite: PostgreSQL saves in one transaction
	p := startProcess(t, crashAt(crashpoint.BetweenChunks), append(store, shortLease...)...)
	id := linkAll(t, p, p.key, "crash-chunks")
	p.waitKilled(t, 60*time.Second)

	again := startProcess(t, nil, append(store, shortLease...)...)
	wantFullHistory(t, again, p.key, id)
}
