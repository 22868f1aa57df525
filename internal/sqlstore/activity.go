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

// RecordActivity implements banklink.ActivityStore. The account,
// environment and customer come from the connection row itself.
func (db *DB) RecordActivity(ctx context.Context, e *banklink.ActivityEvent) error {
	if e.At.IsZero() {
		e.At = db.now()
	}
	if e.ID == "" {
		e.ID = banklink.NewID()
	}
	// The job works on its own copy and hands its result back only when
	// the caller waits for it (not for a best-effort write).
	ev := *e
	type stored struct {
		seq                      int64
		account, env, customerID string
	}
	var res stored
	err := db.inTxBestEffort(ctx, "record activity", func(tx *sql.Tx) error {
		var r stored
		err := tx.QueryRowContext(ctx, `INSERT INTO activity_log (id, account_id, environment, customer_id, connection_id, action, event_type,
				institution_id, provider, step, reason, message, detail, repair, at)
			SELECT $2, account_id, environment, customer_id, id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM connections WHERE id = $1
			RETURNING seq, account_id, environment, customer_id`,
			ev.ConnectionID, ev.ID, ev.Action, ev.EventType, ev.InstitutionID, ev.Provider, ev.Step, ev.Reason, ev.Message, ev.Detail, ev.Repair, micros(ev.At)).
			Scan(&r.seq, &r.account, &r.env, &r.customerID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // no such connection: nothing to record
		}
		res = r
		return err
	})
	if err != nil {
		return fmt.Errorf("record activity: %w", err)
	}
	if !db.defers(ctx) && res.seq != 0 {
		e.AccountID, e.Environment, e.CustomerID = res.account, banklink.Environment(res.env), res.customerID
		e.Key = db.keys.seqKey(e.AccountID, res.env, res.seq)
	}
	return nil
}

const activityColumns = ` a.seq, a.id, a.account_id, a.environment, a.customer_id, a.connection_id, a.action, a.event_type, a.institution_id,
	a.provider, a.step, a.reason, a.message, a.detail, a.repair, a.at`

func scanActivity(k *cursorKeys, row scanner) (*banklink.ActivityEvent, error) {
	var e banklink.ActivityEvent
	var seq, at int64
	var env string
	if err := row.Scan(&seq, &e.ID, &e.AccountID, &env, &e.CustomerID, &e.ConnectionID, &e.Action, &e.EventType, &e.InstitutionID,
		&e.Provider, &e.Step, &e.Reason, &e.Message, &e.Detail, &e.Repair, &at); err != nil {
		return nil, fmt.Errorf("scan activity: %w", err)
	}
	e.Environment, e.At = banklink.Environment(env), fromMicros(at)
	e.Key = k.seqKey(e.AccountID, env, seq)
	return &e, nil
}

// FindActivity implements banklink.ActivityStore.
func (db *DB) FindActivity(ctx context.Context, scope banklink.Scope, f banklink.ActivityFilter) ([]*banklink.ActivityEvent, int, error) {
	if err := db.flushBestEffort(ctx); err != nil {
		return nil, 0, fmt.Errorf("find activity: %w", err)
	}
	q, c := activityQuery(scope, f)
	limit := f.Limit
	if limit <= 0 {
		limit = 25
	}
	out, remaining, err := q.run(ctx, db, c, f.After, f.Before, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("find activity: %w", err)
	}
	return out, remaining, nil
}

// activityQuery is FindActivity's query without its cursor.
func activityQuery(scope banklink.Scope, f banklink.ActivityFilter) (listQuery[banklink.ActivityEvent], conds) {
	var c conds
	c.add("a.account_id = ?", scope.AccountID)
	c.add("a.environment = ?", string(scope.Environment))
	c.addIf("a.connection_id = ?", f.ConnectionID)
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		var ph []string
		for _, v := range vals {
			c.args = append(c.args, v)
			ph = append(ph, "$"+strconv.Itoa(len(c.args)))
		}
		c.where = append(c.where, col+" IN ("+strings.Join(ph, ", ")+")")
	}
	in("a.action", f.Actions)
	in("a.event_type", f.EventTypes)
	if !f.Start.IsZero() {
		c.add("a.at >= ?", micros(f.Start))
	}
	if !f.End.IsZero() {
		c.add("a.at < ?", micros(f.End))
	}
	return listQuery[banklink.ActivityEvent]{cols: activityColumns, from: ` FROM activity_log a`, alias: "a", scope: scope,
		scan: scanActivity, key: func(e *banklink.ActivityEvent) string { return e.Key }}, c
}

// PruneActivity implements banklink.ActivityStore.
func (db *DB) PruneActivity(ctx context.Context, before time.Time, limit int) (int, error) {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM activity_log WHERE seq IN
			(SELECT seq FROM activity_log WHERE at < $1 ORDER BY at LIMIT $2)`, micros(before), max(limit, 1))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune activity: %w", err)
	}
	return int(n), nil
}
