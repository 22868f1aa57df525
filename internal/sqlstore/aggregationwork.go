package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"banklink"
)

// Aggregation work (migration 00018): aggregation_requested counts the
// accepted requests, aggregation_done the count the last finished run was
// started for; work is pending while requested > done. In every UPDATE
// below the SET expressions read the row as it was before the update, on
// both SQLite and PostgreSQL, so a CASE on the lease sees the old lease.

// leaseFree is true when the row's lease may be taken by $owner at $at.
const leaseFree = `(aggregation_lease_until < %[1]s OR aggregation_lease_owner = %[2]s)`

// RequestAggregation implements banklink.AggregationWorkStore.
func (db *DB) RequestAggregation(ctx context.Context, scope banklink.Scope, id string, at time.Time, lease banklink.Lease) (banklink.AggregationWork, bool, error) {
	free := fmt.Sprintf(leaseFree, "$1", "$2")
	var w banklink.AggregationWork
	var owner string
	err := db.w.QueryRowContext(ctx, `UPDATE connections SET aggregation_requested = aggregation_requested + 1,
		aggregation_lease_owner = CASE WHEN `+free+` THEN $2 ELSE aggregation_lease_owner END,
		aggregation_lease_until = CASE WHEN `+free+` THEN $3 ELSE aggregation_lease_until END
		WHERE id = $4 AND account_id = $5 AND environment = $6
		RETURNING aggregation_requested, aggregation_lease_owner`,
		micros(at), lease.Owner, micros(lease.Until), id, scope.AccountID, string(scope.Environment)).Scan(&w.Ticket, &owner)
	if errors.Is(err, sql.ErrNoRows) {
		return w, false, notFound("Connection")
	}
	if err != nil {
		return w, false, fmt.Errorf("request aggregation: %w", err)
	}
	w.Scope, w.ConnectionID = scope, id
	return w, owner == lease.Owner, nil
}

// pendingWork selects connections whose aggregation work is pending and
// whose lease is free at $3; the connections_aggregation_pending index
// holds exactly the pending ones, ordered by lease.
var pendingWork = `SELECT id FROM connections
	WHERE aggregation_requested > aggregation_done AND aggregation_lease_until < $3
	AND ` + linked + `
	ORDER BY aggregation_lease_until LIMIT `

// ClaimAggregations implements banklink.AggregationWorkStore in one
// statement; on PostgreSQL replicas claiming at once skip each other's
// rows.
func (db *DB) ClaimAggregations(ctx context.Context, at time.Time, lease banklink.Lease, limit int) ([]banklink.AggregationWork, error) {
	if limit <= 0 {
		return nil, nil
	}
	sel := pendingWork + strconv.Itoa(limit)
	if db.dialect == Postgres {
		sel += ` FOR UPDATE SKIP LOCKED`
	}
	rows, err := db.w.QueryContext(ctx, `UPDATE connections SET aggregation_lease_owner = $1, aggregation_lease_until = $2
		WHERE id IN (`+sel+`) RETURNING id, account_id, environment, aggregation_requested`,
		lease.Owner, micros(lease.Until), micros(at))
	if err != nil {
		return nil, fmt.Errorf("claim aggregations: %w", err)
	}
	return scanWork(rows)
}

// scanWork reads rows of (id, account_id, environment, ticket).
func scanWork(rows *sql.Rows) ([]banklink.AggregationWork, error) {
	defer rows.Close()
	var out []banklink.AggregationWork
	for rows.Next() {
		var w banklink.AggregationWork
		var env string
		if err := rows.Scan(&w.ConnectionID, &w.Scope.AccountID, &env, &w.Ticket); err != nil {
			return nil, fmt.Errorf("claim aggregations: %w", err)
		}
		w.Scope.Environment = banklink.Environment(env)
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim aggregations: %w", err)
	}
	return out, nil
}

// PendingAggregations implements banklink.AggregationWorkStore, through
// the connections_aggregation_pending index (its predicate is the
// first condition).
func (db *DB) PendingAggregations(ctx context.Context) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM connections WHERE aggregation_requested > aggregation_done AND `+linked).Scan(&n); err != nil {
		return 0, fmt.Errorf("count pending aggregations: %w", err)
	}
	return n, nil
}

// RenewAggregationLeases implements banklink.AggregationWorkStore.
func (db *DB) RenewAggregationLeases(ctx context.Context, owner string, ids []string, until time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{micros(until), owner}
	marks := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		marks[i] = "$" + strconv.Itoa(i+3)
	}
	_, err := db.w.ExecContext(ctx, `UPDATE connections SET aggregation_lease_until = $1
		WHERE aggregation_lease_owner = $2 AND id IN (`+strings.Join(marks, ", ")+`)`, args...)
	if err != nil {
		return fmt.Errorf("renew aggregation leases: %w", err)
	}
	return nil
}

// FinishAggregation implements banklink.AggregationWorkStore.
func (db *DB) FinishAggregation(ctx context.Context, work banklink.AggregationWork, owner string) (banklink.AggregationWork, bool, error) {
	// The lease is released only when nothing was requested since the
	// run's ticket; otherwise the owner keeps it and runs again, so no
	// other replica starts the same work meanwhile.
	release := `(aggregation_lease_owner = $2 AND aggregation_requested <= $1)`
	next := work
	var leaseOwner string
	err := db.w.QueryRowContext(ctx, `UPDATE connections SET
		aggregation_done = CASE WHEN aggregation_done < $1 THEN $1 ELSE aggregation_done END,
		aggregation_lease_owner = CASE WHEN `+release+` THEN '' ELSE aggregation_lease_owner END,
		aggregation_lease_until = CASE WHEN `+release+` THEN 0 ELSE aggregation_lease_until END
		WHERE id = $3 AND account_id = $4 AND environment = $5
		RETURNING aggregation_requested, aggregation_lease_owner`,
		work.Ticket, owner, work.ConnectionID, work.Scope.AccountID, string(work.Scope.Environment)).Scan(&next.Ticket, &leaseOwner)
	if errors.Is(err, sql.ErrNoRows) {
		return work, false, notFound("Connection")
	}
	if err != nil {
		return work, false, fmt.Errorf("finish aggregation: %w", err)
	}
	return next, next.Ticket > work.Ticket && leaseOwner == owner, nil
}
