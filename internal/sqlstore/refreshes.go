package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"banklink"
)

// dueRefreshes selects connections due for a scheduled refresh ($1:
// dueBefore) whose aggregation work no replica holds at $2. Its status
// condition is the connections_refresh_due index's, so the planner walks
// that index in aggregated_at order.
var dueRefreshes = `SELECT id FROM connections
	WHERE ` + refreshDue + `
	AND aggregated_at < $1 AND (refresh_requested_at IS NULL OR refresh_requested_at < $1)
	AND status_reason <> 'INACTIVE_DUPLICATE' AND aggregation_lease_until < $2
	ORDER BY aggregated_at LIMIT `

// ClaimDueRefreshes implements banklink.ConnectionStore in one
// statement: the claim, the work request, its lease and the read of what
// was claimed are atomic, and on PostgreSQL replicas claiming at once
// skip each other's rows.
func (db *DB) ClaimDueRefreshes(ctx context.Context, dueBefore, at time.Time, lease banklink.Lease, limit int) ([]banklink.AggregationWork, error) {
	if limit <= 0 {
		return nil, nil
	}
	sel := dueRefreshes + strconv.Itoa(limit)
	if db.dialect == Postgres {
		sel += ` FOR UPDATE SKIP LOCKED`
	}
	rows, err := db.w.QueryContext(ctx, `UPDATE connections SET refresh_requested_at = $2,
		aggregation_requested = aggregation_requested + 1, aggregation_lease_owner = $3, aggregation_lease_until = $4
		WHERE id IN (`+sel+`)
		RETURNING id, account_id, environment, aggregation_requested, aggregated_at`,
		micros(dueBefore), micros(at), lease.Owner, micros(lease.Until))
	if err != nil {
		return nil, fmt.Errorf("claim due refreshes: %w", err)
	}
	defer rows.Close()
	type claimed struct {
		work banklink.AggregationWork
		agg  int64
	}
	var list []claimed
	for rows.Next() {
		var c claimed
		var env string
		if err := rows.Scan(&c.work.ConnectionID, &c.work.Scope.AccountID, &env, &c.work.Ticket, &c.agg); err != nil {
			return nil, fmt.Errorf("claim due refreshes: %w", err)
		}
		c.work.Scope.Environment = banklink.Environment(env)
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim due refreshes: %w", err)
	}
	// RETURNING keeps no order: oldest data first, as selected.
	slices.SortFunc(list, func(a, b claimed) int { return cmp.Compare(a.agg, b.agg) })
	out := make([]banklink.AggregationWork, len(list))
	for i, c := range list {
		out[i] = c.work
	}
	return out, nil
}
