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
// dueBefore). Its status list is the connections_refresh_due index's, so
// the planner walks that index in aggregated_at order.
const dueRefreshes = `SELECT id FROM connections
	WHERE status IN ('ACTIVE', 'PARTIALLY_ACTIVE', 'DEGRADED', 'UNDETERMINED')
	AND aggregated_at < $1 AND (refresh_requested_at IS NULL OR refresh_requested_at < $1)
	AND status_reason <> 'INACTIVE_DUPLICATE'
	ORDER BY aggregated_at LIMIT `

// ClaimDueRefreshes implements banklink.ConnectionLifecycleStore in one
// statement: the claim and the read of what was claimed are atomic, and
// on PostgreSQL replicas claiming at once skip each other's rows.
func (db *DB) ClaimDueRefreshes(ctx context.Context, dueBefore, at time.Time, limit int) ([]banklink.DueRefresh, error) {
	if limit <= 0 {
		return nil, nil
	}
	sel := dueRefreshes + strconv.Itoa(limit)
	if db.dialect == Postgres {
		sel += ` FOR UPDATE SKIP LOCKED`
	}
	rows, err := db.w.QueryContext(ctx, `UPDATE connections SET refresh_requested_at = $2 WHERE id IN (`+sel+`)
		RETURNING id, account_id, environment, aggregated_at`, micros(dueBefore), micros(at))
	if err != nil {
		return nil, fmt.Errorf("claim due refreshes: %w", err)
	}
	defer rows.Close()
	type claimed struct {
		due banklink.DueRefresh
		agg int64
	}
	var list []claimed
	for rows.Next() {
		var c claimed
		var env string
		if err := rows.Scan(&c.due.ConnectionID, &c.due.Scope.AccountID, &env, &c.agg); err != nil {
			return nil, fmt.Errorf("claim due refreshes: %w", err)
		}
		c.due.Scope.Environment = banklink.Environment(env)
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim due refreshes: %w", err)
	}
	// RETURNING keeps no order: oldest data first, as selected.
	slices.SortFunc(list, func(a, b claimed) int { return cmp.Compare(a.agg, b.agg) })
	out := make([]banklink.DueRefresh, len(list))
	for i, c := range list {
		out[i] = c.due
	}
	return out, nil
}
