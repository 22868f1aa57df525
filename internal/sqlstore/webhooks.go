package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"banklink"
	"banklink/webhook"
)

const profileColumns = `wp.id, wp.account_id, wp.environment, wp.url, wp.version, wp.enabled, wp.event_types, wp.secret,
	wp.previous_secret, wp.previous_secret_expires_at, wp.created_at, wp.updated_at`

func scanProfile(row scanner) (*banklink.WebhookProfile, error) {
	var p banklink.WebhookProfile
	var env, types string
	var prevExp sql.NullInt64
	var created, updated int64
	if err := row.Scan(&p.ID, &p.AccountID, &env, &p.URL, &p.Version, &p.Enabled, &types, &p.Secret, &p.PreviousSecret,
		&prevExp, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(types), &p.EventTypes); err != nil {
		return nil, fmt.Errorf("decode profile %s: %w", p.ID, err)
	}
	p.Environment, p.PreviousSecretExpiresAt = banklink.Environment(env), fromNullMicros(prevExp)
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &p, nil
}

func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(*t), Valid: true}
}

// CreateWebhookProfile implements banklink.WebhookProfileStore.
func (db *DB) CreateWebhookProfile(ctx context.Context, p *banklink.WebhookProfile) error {
	now := db.now()
	if p.CreatedAt.IsZero() {
		p.CreatedAt = now
	}
	p.UpdatedAt = p.CreatedAt
	_, err := db.w.ExecContext(ctx, `INSERT INTO webhook_profiles (id, account_id, environment, url, version, enabled, event_types, secret,
		previous_secret, previous_secret_expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		p.ID, p.AccountID, string(p.Environment), p.URL, p.Version, p.Enabled, toJSON(nonNil(p.EventTypes)), p.Secret,
		p.PreviousSecret, nullMicros(p.PreviousSecretExpiresAt), micros(p.CreatedAt), micros(p.UpdatedAt))
	if isForeignKeyViolation(err) {
		return notFound("Account")
	}
	if isUniqueViolation(err) {
		return banklink.Errorf(banklink.ECONFLICT, "Webhook profile %s already exists.", p.ID)
	}
	if err != nil {
		return fmt.Errorf("create webhook profile: %w", err)
	}
	return nil
}

// FindWebhookProfileByID implements banklink.WebhookProfileStore.
func (db *DB) FindWebhookProfileByID(ctx context.Context, scope banklink.Scope, id string) (*banklink.WebhookProfile, error) {
	p, err := scanProfile(db.r.QueryRowContext(ctx, `SELECT `+profileColumns+` FROM webhook_profiles wp WHERE wp.id = $1 AND wp.account_id = $2 AND wp.environment = $3`,
		id, scope.AccountID, string(scope.Environment)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Webhook profile")
	}
	if err != nil {
		return nil, fmt.Errorf("find webhook profile: %w", err)
	}
	return p, nil
}

// FindWebhookProfiles implements banklink.WebhookProfileStore.
func (db *DB) FindWebhookProfiles(ctx context.Context, scope banklink.Scope) ([]*banklink.WebhookProfile, error) {
	return db.profiles(ctx, db.r, scope, false)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (db *DB) profiles(ctx context.Context, q querier, scope banklink.Scope, enabledOnly bool) ([]*banklink.WebhookProfile, error) {
	query := `SELECT ` + profileColumns + ` FROM webhook_profiles wp WHERE wp.account_id = $1 AND wp.environment = $2`
	if enabledOnly {
		query += ` AND wp.enabled`
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY wp.seq`, scope.AccountID, string(scope.Environment))
	if err != nil {
		return nil, fmt.Errorf("find webhook profiles: %w", err)
	}
	defer rows.Close()
	out := []*banklink.WebhookProfile{}
	for rows.Next() {
		p, err := scanProfile(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// UpdateWebhookProfile implements banklink.WebhookProfileStore.
func (db *DB) UpdateWebhookProfile(ctx context.Context, p *banklink.WebhookProfile) error {
	p.UpdatedAt = db.now()
	res, err := db.w.ExecContext(ctx, `UPDATE webhook_profiles SET url = $1, version = $2, enabled = $3, event_types = $4, secret = $5,
		previous_secret = $6, previous_secret_expires_at = $7, updated_at = $8 WHERE id = $9 AND account_id = $10 AND environment = $11`,
		p.URL, p.Version, p.Enabled, toJSON(nonNil(p.EventTypes)), p.Secret, p.PreviousSecret, nullMicros(p.PreviousSecretExpiresAt),
		micros(p.UpdatedAt), p.ID, p.AccountID, string(p.Environment))
	if err != nil {
		return fmt.Errorf("update webhook profile: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("Webhook profile")
	}
	return nil
}

// DeleteWebhookProfile implements banklink.WebhookProfileStore.
func (db *DB) DeleteWebhookProfile(ctx context.Context, scope banklink.Scope, id string) error {
	res, err := db.w.ExecContext(ctx, `DELETE FROM webhook_profiles WHERE id = $1 AND account_id = $2 AND environment = $3`,
		id, scope.AccountID, string(scope.Environment))
	if err != nil {
		return fmt.Errorf("delete webhook profile: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("Webhook profile")
	}
	return nil
}

// emit appends events to the log and queues a delivery to every enabled
// profile that wants each, inside tx: the caller's state change and its
// events commit or roll back together.
func (db *DB) emit(ctx context.Context, tx *sql.Tx, scope banklink.Scope, at time.Time, events ...*banklink.Event) error {
	if len(events) == 0 {
		return nil
	}
	if db.dialect == Postgres {
		// Events commit in seq order: a reader paging with `after` must
		// never see seq n+1 committed while n is still in flight and
		// then skip n. The lock is taken last in the transaction and
		// held only until its commit.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7301)`); err != nil {
			return fmt.Errorf("emit: %w", err)
		}
	}
	profiles, err := db.profiles(ctx, tx, scope, true)
	if err != nil {
		return err
	}
	for _, e := range events {
		e.AccountID, e.Environment = scope.AccountID, scope.Environment
		if e.CreatedAt.IsZero() {
			e.CreatedAt = at
		}
		payload, err := json.Marshal(e.Payload)
		if err != nil {
			return err
		}
		var seq int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO webhook_events (id, account_id, environment, event_type, connection_id, payload, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq`, e.ID, e.AccountID, string(e.Environment), string(e.Type), e.ConnectionID,
			string(payload), micros(e.CreatedAt)).Scan(&seq); err != nil {
			return fmt.Errorf("emit %s: %w", e.Type, err)
		}
		e.Key = db.keys.seqKey(e.AccountID, string(e.Environment), seq)
		for _, p := range profiles {
			if !p.Wants(e.Type) || (e.ProfileID != "" && e.ProfileID != p.ID) {
				continue
			}
			if _, err := insertDelivery(ctx, tx, seq, p.ID, e.ConnectionID, at); err != nil {
				return err
			}
		}
	}
	db.kick()
	return nil
}

func insertDelivery(ctx context.Context, tx *sql.Tx, eventSeq int64, profileID, connectionID string, at time.Time) (string, error) {
	id := banklink.NewID()
	_, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, event_seq, profile_id, connection_id, state, next_attempt_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6, $6)`, id, eventSeq, profileID, connectionID, string(banklink.DeliveryPending), micros(at))
	if err != nil {
		return "", fmt.Errorf("queue delivery: %w", err)
	}
	return id, nil
}

// kick wakes local delivery workers. It may fire before the emitting
// transaction commits; workers then find nothing and wait for their next
// poll or kick, so a delivery is never started from uncommitted data.
func (db *DB) kick() {
	select {
	case db.events <- struct{}{}:
	default:
	}
}

// Kicks signals (best effort) that events were emitted by this process.
func (db *DB) Kicks() <-chan struct{} { return db.events }

// EmitEvents implements banklink.EventStore.
func (db *DB) EmitEvents(ctx context.Context, scope banklink.Scope, events ...*banklink.Event) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error { return db.emit(ctx, tx, scope, db.now(), events...) })
	if isForeignKeyViolation(err) {
		return notFound("Account")
	}
	return err
}

const eventColumns = `e.seq, e.id, e.account_id, e.environment, e.event_type, e.connection_id, e.payload, e.created_at`

func scanEvent(k *cursorKeys, row scanner) (*banklink.Event, error) {
	var e banklink.Event
	var seq, created int64
	var env, typ, payload string
	if err := row.Scan(&seq, &e.ID, &e.AccountID, &env, &typ, &e.ConnectionID, &payload, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(payload), &e.Payload); err != nil {
		return nil, fmt.Errorf("decode event %s: %w", e.ID, err)
	}
	e.Key, e.Environment, e.Type, e.CreatedAt = k.seqKey(e.AccountID, env, seq), banklink.Environment(env), webhook.EventType(typ), fromMicros(created)
	return &e, nil
}

// FindEventByID implements banklink.EventStore.
func (db *DB) FindEventByID(ctx context.Context, scope banklink.Scope, id string) (*banklink.Event, error) {
	e, err := scanEvent(db.keys, db.r.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM webhook_events e WHERE e.id = $1 AND e.account_id = $2 AND e.environment = $3`,
		id, scope.AccountID, string(scope.Environment)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Event")
	}
	if err != nil {
		return nil, fmt.Errorf("find event: %w", err)
	}
	return e, nil
}

// FindEvents implements banklink.EventStore.
func (db *DB) FindEvents(ctx context.Context, scope banklink.Scope, f banklink.EventFilter) ([]*banklink.Event, int, error) {
	var c conds
	c.add("e.account_id = ?", scope.AccountID)
	c.add("e.environment = ?", string(scope.Environment))
	c.addIf("e.connection_id = ?", f.ConnectionID)
	if len(f.Types) > 0 {
		var in []string
		for _, t := range f.Types {
			c.args = append(c.args, string(t))
			in = append(in, "$"+strconv.Itoa(len(c.args)))
		}
		c.where = append(c.where, "e.event_type IN ("+strings.Join(in, ", ")+")")
	}
	return listQuery[banklink.Event]{cols: eventColumns, from: ` FROM webhook_events e`, alias: "e", scope: scope,
		scan: scanEvent, key: func(e *banklink.Event) string { return e.Key }}.run(ctx, db, c, f.After, f.Before, f.Limit)
}

const deliveryColumns = `d.id, e.id, d.profile_id, d.state, d.attempts, d.next_attempt_at, d.first_attempt_at, d.delivered_at,
	d.last_status, d.last_reason, d.created_at`

func scanDelivery(row scanner, extra ...any) (*banklink.Delivery, error) {
	var d banklink.Delivery
	var state string
	var next, first, delivered sql.NullInt64
	var created int64
	dest := append([]any{&d.ID, &d.EventID, &d.ProfileID, &state, &d.Attempts, &next, &first, &delivered,
		&d.LastStatusCode, &d.LastReason, &created}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	d.State, d.CreatedAt = banklink.DeliveryState(state), fromMicros(created)
	d.NextAttemptAt, d.FirstAttemptAt, d.DeliveredAt = fromNullMicros(next), fromNullMicros(first), fromNullMicros(delivered)
	return &d, nil
}

// FindDeliveries implements banklink.EventStore.
func (db *DB) FindDeliveries(ctx context.Context, scope banklink.Scope, eventID string) ([]*banklink.Delivery, error) {
	if _, err := db.FindEventByID(ctx, scope, eventID); err != nil {
		return nil, err
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d JOIN webhook_events e ON e.seq = d.event_seq
		WHERE e.id = $1 ORDER BY d.created_at, d.id`, eventID)
	if err != nil {
		return nil, fmt.Errorf("find deliveries: %w", err)
	}
	out := []*banklink.Delivery{}
	byID := map[string]*banklink.Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		d.AttemptLog = []banklink.DeliveryAttempt{}
		out = append(out, d)
		byID[d.ID] = d
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = db.r.QueryContext(ctx, `SELECT a.delivery_id, a.attempt, a.at, a.url, a.status_code, a.reason, a.latency_micros, a.response
		FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id JOIN webhook_events e ON e.seq = d.event_seq
		WHERE e.id = $1 ORDER BY a.seq`, eventID)
	if err != nil {
		return nil, fmt.Errorf("find attempts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var a banklink.DeliveryAttempt
		var at, latency int64
		if err := rows.Scan(&id, &a.Attempt, &at, &a.URL, &a.StatusCode, &a.Reason, &latency, &a.Response); err != nil {
			return nil, err
		}
		a.At, a.Latency = fromMicros(at), time.Duration(latency)*time.Microsecond
		if d := byID[id]; d != nil {
			d.AttemptLog = append(d.AttemptLog, a)
		}
	}
	return out, rows.Err()
}

// Redeliver implements banklink.EventStore.
func (db *DB) Redeliver(ctx context.Context, scope banklink.Scope, eventID, profileID string, at time.Time) ([]*banklink.Delivery, error) {
	var ids []string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		ids = nil
		var seq int64
		var typ, connID string
		err := tx.QueryRowContext(ctx, `SELECT seq, event_type, connection_id FROM webhook_events WHERE id = $1 AND account_id = $2 AND environment = $3`,
			eventID, scope.AccountID, string(scope.Environment)).Scan(&seq, &typ, &connID)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("Event")
		}
		if err != nil {
			return err
		}
		profiles, err := db.profiles(ctx, tx, scope, false)
		if err != nil {
			return err
		}
		found := false
		for _, p := range profiles {
			if profileID != "" && p.ID != profileID {
				continue
			}
			found = true
			if profileID == "" && !p.Wants(webhook.EventType(typ)) {
				continue
			}
			if !p.Enabled {
				return banklink.Errorf(banklink.ECONFLICT, "Webhook profile %s is disabled; enable it first.", p.ID)
			}
			id, err := insertDelivery(ctx, tx, seq, p.ID, connID, at)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		if profileID != "" && !found {
			return notFound("Webhook profile")
		}
		if len(ids) == 0 {
			return banklink.Errorf(banklink.ECONFLICT, "No enabled webhook profile receives %s events.", typ)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	db.kick()
	all, err := db.FindDeliveries(ctx, scope, eventID)
	if err != nil {
		return nil, err
	}
	var out []*banklink.Delivery
	for _, d := range all {
		if slices.Contains(ids, d.ID) {
			out = append(out, d)
		}
	}
	return out, nil
}

// claimable selects due deliveries that no earlier delivery of the same
// connection to the same profile holds back.
const claimable = `SELECT d.id FROM webhook_deliveries d
	WHERE d.state = 'PENDING' AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until <= $1)
	AND (d.connection_id = '' OR NOT EXISTS (SELECT 1 FROM webhook_deliveries p
		WHERE p.profile_id = d.profile_id AND p.connection_id = d.connection_id AND p.state = 'PENDING' AND p.event_seq < d.event_seq
		AND (p.attempts = 0 OR p.lease_until > $1)))
	ORDER BY d.next_attempt_at, d.event_seq LIMIT `

// ClaimDeliveries implements banklink.DeliveryStore.
func (db *DB) ClaimDeliveries(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]*banklink.Delivery, error) {
	if db.dialect == Postgres {
		return db.claimPG(ctx, owner, now, leaseUntil, limit)
	}
	// A cheap read first: idle workers poll, and on SQLite an empty
	// claim would still queue behind the single writer.
	var one int
	err := db.r.QueryRowContext(ctx, `SELECT 1 FROM webhook_deliveries WHERE state = 'PENDING' AND next_attempt_at <= $1
		AND (lease_until IS NULL OR lease_until <= $1) LIMIT 1`, micros(now)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	// One autocommitted statement leases the rows: a claim is on the
	// path of every delivery, and each extra round trip or explicit
	// transaction showed up directly in outbox throughput.
	sel := claimable + strconv.Itoa(limit)
	if db.dialect == Postgres {
		// SKIP LOCKED: replicas claiming at once take different rows
		// instead of queueing on each other's.
		sel += ` FOR UPDATE OF d SKIP LOCKED`
	}
	rows, err := db.w.QueryContext(ctx, `UPDATE webhook_deliveries SET lease_owner = $2, lease_until = $3 WHERE id IN (`+
		sel+`) RETURNING id`, micros(now), owner, micros(leaseUntil))
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	var ids []any
	var in []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("claim deliveries: %w", err)
		}
		ids = append(ids, id)
		in = append(in, "$"+strconv.Itoa(len(ids)))
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return nil, err
	}
	rows, err = db.w.QueryContext(ctx, `SELECT `+deliveryColumns+`, `+eventColumns+`, `+profileColumns+`
		FROM webhook_deliveries d JOIN webhook_events e ON e.seq = d.event_seq JOIN webhook_profiles wp ON wp.id = d.profile_id
		WHERE d.id IN (`+strings.Join(in, ", ")+`) ORDER BY d.next_attempt_at, d.event_seq`, ids...)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	defer rows.Close()
	var out []*banklink.Delivery
	for rows.Next() {
		d, err := scanClaimed(db.keys, rows)
		if err != nil {
			return nil, fmt.Errorf("claim deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// scanClaimed reads a delivery joined with its event and profile.
func scanClaimed(k *cursorKeys, row scanner) (*banklink.Delivery, error) {
	var ev struct {
		seq, created       int64
		id, acct, env, typ string
		conn, payload      string
	}
	var p banklink.WebhookProfile
	var penv, types string
	var prevExp sql.NullInt64
	var pcreated, pupdated int64
	d, err := scanDelivery(row, &ev.seq, &ev.id, &ev.acct, &ev.env, &ev.typ, &ev.conn, &ev.payload, &ev.created,
		&p.ID, &p.AccountID, &penv, &p.URL, &p.Version, &p.Enabled, &types, &p.Secret, &p.PreviousSecret, &prevExp, &pcreated, &pupdated)
	if err != nil {
		return nil, err
	}
	e := &banklink.Event{ID: ev.id, Key: k.seqKey(ev.acct, ev.env, ev.seq), AccountID: ev.acct, Environment: banklink.Environment(ev.env),
		Type: webhook.EventType(ev.typ), ConnectionID: ev.conn, CreatedAt: fromMicros(ev.created)}
	if err := json.Unmarshal([]byte(ev.payload), &e.Payload); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(types), &p.EventTypes); err != nil {
		return nil, err
	}
	p.Environment, p.PreviousSecretExpiresAt = banklink.Environment(penv), fromNullMicros(prevExp)
	p.CreatedAt, p.UpdatedAt = fromMicros(pcreated), fromMicros(pupdated)
	d.Event, d.Profile = e, &p
	return d, nil
}

// FinishDelivery implements banklink.DeliveryStore.
func (db *DB) FinishDelivery(ctx context.Context, owner, deliveryID string, o banklink.DeliveryOutcome) error {
	lost, err := db.FinishDeliveries(ctx, owner, map[string]banklink.DeliveryOutcome{deliveryID: o})
	if err == nil && len(lost) > 0 {
		return banklink.Errorf(banklink.ECONFLICT, "Delivery %s is no longer leased by %s.", deliveryID, owner)
	}
	return err
}

// FinishDeliveries implements banklink.DeliveryStore. Workers finish in
// batches: one commit for many attempts is what keeps the outbox from
// being bound by the database's fsync rate.
func (db *DB) FinishDeliveries(ctx context.Context, owner string, outcomes map[string]banklink.DeliveryOutcome) ([]string, error) {
	if db.dialect == Postgres {
		return db.finishPG(ctx, owner, outcomes)
	}
	var lost []string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		lost = nil
		for id, o := range outcomes {
			a := o.Attempt
			state := banklink.DeliveryPending
			var delivered sql.NullInt64
			switch {
			case o.Delivered:
				state, delivered = banklink.DeliveryDelivered, sql.NullInt64{Int64: micros(a.At), Valid: true}
			case o.NextAttemptAt == nil:
				state = banklink.DeliveryFailed
			}
			// The attempt happened whatever the lease says: log it.
			if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_attempts (delivery_id, attempt, at, url, status_code, reason, latency_micros, response)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, a.Attempt, micros(a.At), a.URL, a.StatusCode, a.Reason,
				a.Latency.Microseconds(), a.Response); err != nil {
				return fmt.Errorf("log attempt: %w", err)
			}
			res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = $1, attempts = attempts + 1, next_attempt_at = $2,
				first_attempt_at = COALESCE(first_attempt_at, $3), delivered_at = $4, last_status = $5, last_reason = $6,
				lease_owner = '', lease_until = NULL, updated_at = $3
				WHERE id = $7 AND lease_owner = $8 AND state = 'PENDING'`,
				string(state), nullMicros(o.NextAttemptAt), micros(a.At), delivered, a.StatusCode, a.Reason, id, owner)
			if err != nil {
				return fmt.Errorf("finish delivery: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				lost = append(lost, id)
			}
		}
		return nil
	})
	return lost, err
}

// ReleaseDeliveries implements banklink.DeliveryStore.
func (db *DB) ReleaseDeliveries(ctx context.Context, owner string) error {
	_, err := db.w.ExecContext(ctx, `UPDATE webhook_deliveries SET lease_owner = '', lease_until = NULL WHERE lease_owner = $1 AND state = 'PENDING'`, owner)
	if err != nil {
		return fmt.Errorf("release deliveries: %w", err)
	}
	return nil
}

// PendingDeliveries implements banklink.DeliveryStore.
func (db *DB) PendingDeliveries(ctx context.Context) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'PENDING'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count pending deliveries: %w", err)
	}
	return n, nil
}

// NextDeliveryAt implements banklink.DeliveryStore.
func (db *DB) NextDeliveryAt(ctx context.Context) (*time.Time, error) {
	var next sql.NullInt64
	if err := db.r.QueryRowContext(ctx, `SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE state = 'PENDING'`).Scan(&next); err != nil {
		return nil, fmt.Errorf("next delivery: %w", err)
	}
	return fromNullMicros(next), nil
}

// connectionInTx reads a connection inside a write transaction, to build
// the payload of the events its change emits.
func connectionInTx(ctx context.Context, tx *sql.Tx, id string) (*banklink.Connection, error) {
	// Event payloads carry no cursor key: nil keys leave it empty.
	c, err := scanConnection(nil, tx.QueryRowContext(ctx, `SELECT `+connectionColumns+connectionFrom+` WHERE c.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Connection")
	}
	return c, err
}
