package sqlstore

import "testing"

func TestRewritePositional(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT a FROM t WHERE x = $1 AND y = $2", "SELECT a FROM t WHERE x = ? AND y = ?"},
		{"VALUES ($1, $2), ($3, $4), ($5, $6), ($7, $8), ($9, $10), ($11, $12)", "VALUES (?, ?), (?, ?), (?, ?), (?, ?), (?, ?), (?, ?)"},
		{"SET a = $1, b = $1", "SET a = $1, b = $1"},           // reused: kept
		{"WHERE a = $2 AND b = $1", "WHERE a = $2 AND b = $1"}, // out of order: kept
		{"WHERE a = '$1' AND b = $1", "WHERE a = '$1' AND b = ?"},
	} {
		if got := rewrite(tc.in); got != tc.want {
			t.Errorf("rewrite(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
