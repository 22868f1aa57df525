package sqlstore

// PostgreSQL-only forms of hot paths. On PostgreSQL every statement is a
// round trip to another process, and on a busy machine each round trip
// waits for the scheduler twice (the backend wakes, then banklink wakes):
// measured under `go run ./bench` on the 2-core VM, BEGIN alone took
// 0.9–1.4 ms and a connect/start's five round trips (BEGIN, SELECT,
// INSERT, INSERT, COMMIT) cost more than its commit's WAL flush. These
// paths do their work in one autocommitted statement each, sent straight
// through pgx (its per-connection statement cache prepares each shape
// once), and leave SQLite's paths, which run in process, as they are.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"banklink"

	"github.com/jackc/pgx/v5"
)

// pgStartConnectionSQL resolves the customer by external id (reading
// first, so a returning customer costs no write; inserting under the same
// conflict clause as upsertCustomerSQL otherwise) and inserts the
// connection, in one statement. When $8 names an institution that does not
// exist, nothing is written and no row comes back.
const pgStartConnectionSQL = `WITH inst AS (SELECT name FROM institutions WHERE id = $8),
found AS (SELECT seq, id, status, created_at FROM customers WHERE account_id = $2 AND environment = $3 AND external_id = $4),
ins AS (INSERT INTO customers (id, account_id, environment, external_id, status, created_at)
	SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::bigint WHERE NOT EXISTS (SELECT 1 FROM found) AND ($8::text IS NULL OR EXISTS (SELECT 1 FROM inst))
	ON CONFLICT (account_id, environment, external_id) DO UPDATE SET external_id = excluded.external_id
	RETURNING seq, id, status, created_at),
cu AS (SELECT * FROM found UNION ALL SELECT * FROM ins),
conn AS (INSERT INTO connections (id, account_id, environment, customer_id, institution_id,
		institution_search_string, products, optional_products, regions, allow_redirect, redirect_url, routing_profile,
		status, status_reason, created_at, updated_at, expires_at, requested_provider)
	SELECT $7::text, $2, $3, cu.id, $8, $9::text, $10::text, $11::text, $12::text, $13::boolean, $14::text, $15::text,
		$16::text, $17::text, $18::bigint, $19::bigint, $20::bigint, $21::text FROM cu
	WHERE $8::text IS NULL OR EXISTS (SELECT 1 FROM inst)
	RETURNING seq)
SELECT conn.seq, cu.seq, cu.id, cu.status, cu.created_at, (SELECT name FROM inst) FROM conn, cu`

// startConnectionPG is StartConnection for a customer with an external id
// on PostgreSQL: one round trip and one commit instead of five round
// trips. It writes what startInTx writes, all or nothing.
func (db *DB) startConnectionPG(ctx context.Context, cust *banklink.Customer, conn *banklink.Connection) error {
	var instID *string
	if conn.InstitutionID != "" {
		instID = &conn.InstitutionID
	}
	var connSeq, custSeq, created int64
	var instName *string
	err := db.pool.QueryRow(ctx, pgStartConnectionSQL,
		cust.ID, cust.AccountID, string(cust.Environment), cust.ExternalID, banklink.CustomerStatusActive, micros(cust.CreatedAt),
		conn.ID, instID, conn.InstitutionSearchString, toJSON(nonNil(conn.Products)), toJSON(nonNil(conn.OptionalProducts)),
		toJSON(nonNil(conn.Regions)), conn.AllowRedirect, conn.RedirectURL, conn.RoutingProfile,
		string(conn.Status), conn.StatusReason, micros(conn.CreatedAt), micros(conn.UpdatedAt), micros(conn.ExpiresAt),
		conn.RequestedProvider,
	).Scan(&connSeq, &custSeq, &cust.ID, &cust.Status, &created, &instName)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// Only a missing institution stops the statement from writing.
		return banklink.Errorf(banklink.ENOTFOUND, "Institution %s not found.", conn.InstitutionID)
	case isForeignKeyViolation(err):
		return notFound("Account")
	case isUniqueViolation(err):
		return banklink.Errorf(banklink.ECONFLICT, "Connection %s already exists.", conn.ID)
	case err != nil:
		return fmt.Errorf("start connection: %w", err)
	}
	if instName != nil {
		conn.InstitutionName = *instName
	}
	cust.Key, cust.CreatedAt = db.keys.seqKey(cust.AccountID, string(cust.Environment), custSeq), fromMicros(created)
	conn.CustomerID, conn.ExternalCustomerID = cust.ID, cust.ExternalID
	conn.Key = db.keys.seqKey(conn.AccountID, string(conn.Environment), connSeq)
	return nil
}

// pgClaimSQL leases up to $4 due deliveries and returns them joined with
// their events and profiles, in one statement. A delivery is held back
// by an earlier pending delivery of the same connection to the same
// profile that was never attempted or is leased (claimable's rule, and
// its form). The webhook_deliveries_due index is in the claim's order
// (next_attempt_at, event_seq; migration 00025), so the claim walks it
// and stops at the limit, probing webhook_deliveries_order once per row it
// visits: 0.1 ms with 3,000 pending, against 11 to 43 ms for a window
// over every pending row, which had made claims the outbox's bottleneck.
// SKIP LOCKED: replicas claiming at once take different rows and never
// wait on (or deadlock with) each other.
const pgClaimSQL = `WITH c AS (UPDATE webhook_deliveries d SET lease_owner = $2, lease_until = $3 WHERE d.id IN (
	SELECT w.id FROM webhook_deliveries w
	WHERE w.state = 'PENDING' AND w.next_attempt_at <= $1 AND (w.lease_until IS NULL OR w.lease_until <= $1)
	AND (w.connection_id = '' OR NOT EXISTS (SELECT 1 FROM webhook_deliveries p
		WHERE p.profile_id = w.profile_id AND p.connection_id = w.connection_id AND p.state = 'PENDING' AND p.event_seq < w.event_seq
		AND (p.attempts = 0 OR p.lease_until > $1)))
	ORDER BY w.next_attempt_at, w.event_seq LIMIT $4
	FOR UPDATE OF w SKIP LOCKED)
	RETURNING d.*)
SELECT ` + deliveryColumns + `, ` + eventColumns + `, ` + profileColumns + `
	FROM c d JOIN webhook_events e ON e.seq = d.event_seq JOIN webhook_profiles wp ON wp.id = d.profile_id
	ORDER BY d.next_attempt_at, d.event_seq`

// pgClaimPlan sets a claim's transaction alone (claimPG) apart: no
// sorting, and no JIT, which a disabled sort's nominal cost (1e10, over
// jit_above_cost) would otherwise switch on for 300 ms of compiling per
// claim. Nor does its commit wait for the WAL flush: a claim only leases,
// and a lease lost in a crash of PostgreSQL is a lease expired, which
// delivery already survives (at least once, as webhooks always are).
const pgClaimPlan = `SELECT set_config('enable_sort', 'off', true), set_config('jit', 'off', true),
	set_config('synchronous_commit', 'off', true)`

// claimPG is ClaimDeliveries on PostgreSQL: one round trip (the claim and
// the read of what it leased, pipelined in one transaction) instead of
// three. An empty claim writes nothing, so it commits without a WAL
// flush, and needs no cheap read first.
//
// The walk down webhook_deliveries_due is the right plan for any backlog,
// since it stops at the limit; but the planner picks it only when its
// statistics know how many deliveries are pending. After a burst they
// say "a few" (the table was analysed while it was nearly empty), it
// reads every pending row and sorts them instead, and a claim with 3,000
// pending took 9 to 16 ms instead of 0.3 ms. pgClaimPlan takes the sort
// away for this transaction alone, whatever the statistics say.
func (db *DB) claimPG(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]*banklink.Delivery, error) {
	var out []*banklink.Delivery
	err := db.pipelinedTx(ctx, pgClaimPlan, pgClaimSQL, []any{micros(now), owner, micros(leaseUntil), limit}, func(rows pgx.Rows) error {
		for rows.Next() {
			d, err := scanClaimed(db.keys, rows)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return out, nil
}

// pipelinedTx runs q in a transaction of its own, set up by setup (a
// SELECT of set_config calls), as one round trip: BEGIN, setup, q and
// COMMIT pipelined. read gets q's rows. A failure leaves the connection
// in an aborted transaction, which the pool discards instead of reusing.
func (db *DB) pipelinedTx(ctx context.Context, setup, q string, args []any, read func(pgx.Rows) error) error {
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(setup)
	b.Queue(q, args...)
	b.Queue(`COMMIT`)
	br := db.pool.SendBatch(ctx, b)
	defer br.Close()
	for range 2 {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	rows, err := br.Query()
	if err != nil {
		return err
	}
	err = read(rows)
	rows.Close()
	if err = cmp.Or(err, rows.Err()); err != nil {
		return err
	}
	if _, err := br.Exec(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return br.Close()
}

// pgFinishSQL records a batch of attempts in one statement: the attempt
// log rows and the deliveries' new states, from parallel arrays. It
// returns the ids whose lease still held (the others are lost). Each
// attempt is logged whatever the lease says, as FinishDeliveries does.
const pgFinishSQL = `WITH o AS (SELECT * FROM unnest($2::text[], $3::int[], $4::bigint[], $5::text[], $6::int[], $7::text[],
		$8::bigint[], $9::text[], $10::text[], $11::bigint[], $12::bigint[])
		AS o(id, attempt, at, url, status_code, reason, latency, response, state, next_at, delivered_at)),
logged AS (INSERT INTO webhook_attempts (delivery_id, attempt, at, url, status_code, reason, latency_micros, response)
	SELECT id, attempt, at, url, status_code, reason, latency, response FROM o)
UPDATE webhook_deliveries d SET state = o.state, attempts = d.attempts + 1, next_attempt_at = o.next_at,
	first_attempt_at = COALESCE(d.first_attempt_at, o.at), delivered_at = o.delivered_at, last_status = o.status_code,
	last_reason = o.reason, lease_owner = '', lease_until = NULL, updated_at = o.at
	FROM o WHERE d.id = o.id AND d.lease_owner = $1 AND d.state = 'PENDING'
	RETURNING d.id`

// finishPG is FinishDeliveries on PostgreSQL: one round trip and one
// commit for the whole batch instead of two statements per attempt in a
// transaction (BEGIN, 2n statements, COMMIT). Its commit does not wait
// for the WAL flush: what it records is an attempt made, and if a crash
// of PostgreSQL loses that record the delivery is pending again under an
// expired lease and is sent again, which at-least-once delivery allows
// (a crash of banklink loses nothing). The claims already commit so, and
// a delivery's path had one flush left, on the outbox's busiest loop:
// BenchmarkOutbox's recording took 3.2 ms a batch with it, 2.0–2.3 ms
// without.
func (db *DB) finishPG(ctx context.Context, owner string, outcomes map[string]banklink.DeliveryOutcome) ([]string, error) {
	n := len(outcomes)
	var (
		ids, urls, reasons, responses, states = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
		attempts, codes                       = make([]int32, 0, n), make([]int32, 0, n)
		ats, latencies                        = make([]int64, 0, n), make([]int64, 0, n)
		nexts, delivered                      = make([]*int64, 0, n), make([]*int64, 0, n)
	)
	for id, o := range outcomes {
		a := o.Attempt
		state := banklink.DeliveryPending
		var del *int64
		switch {
		case o.Delivered:
			at := micros(a.At)
			state, del = banklink.DeliveryDelivered, &at
		case o.NextAttemptAt == nil:
			state = banklink.DeliveryFailed
		}
		var next *int64
		if o.NextAttemptAt != nil {
			v := micros(*o.NextAttemptAt)
			next = &v
		}
		ids, urls, reasons, responses, states = append(ids, id), append(urls, a.URL), append(reasons, a.Reason), append(responses, a.Response), append(states, string(state))
		attempts, codes = append(attempts, int32(a.Attempt)), append(codes, int32(a.StatusCode))
		ats, latencies = append(ats, micros(a.At)), append(latencies, a.Latency.Microseconds())
		nexts, delivered = append(nexts, next), append(delivered, del)
	}
	var kept []string
	err := db.pipelinedTx(ctx, `SELECT set_config('synchronous_commit', 'off', true)`, pgFinishSQL,
		[]any{owner, ids, attempts, ats, urls, codes, reasons, latencies, responses, states, nexts, delivered}, func(rows pgx.Rows) (err error) {
			kept, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("finish deliveries: %w", err)
	}
	held := make(map[string]bool, len(kept))
	for _, id := range kept {
		held[id] = true
	}
	var lost []string
	for _, id := range ids {
		if !held[id] {
			lost = append(lost, id)
		}
	}
	return lost, nil
}

// pgSaveSessionSQL is SaveConnectSession in one statement: it reads the
// connection's status and writes the session (putSession's conditional
// upsert) only while the connection may make progress. It returns the
// status (empty when there is no such connection), whether progress is
// allowed, and the rows written (0: the session changed since it was
// read).
var pgSaveSessionSQL = `WITH conn AS (SELECT status, ` + "(status = '" + string(banklink.StatusInProgress) + "' OR " + repairable + `) AS open FROM connections WHERE id = $1),
ins AS (INSERT INTO connect_sessions (connection_id, step, institution_id, provider_type, provider_state, login_id, data, failures, updated_at, version)
	SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::integer, $9::bigint, 1 WHERE EXISTS (SELECT 1 FROM conn WHERE open)
	ON CONFLICT (connection_id) DO UPDATE SET step = excluded.step, institution_id = excluded.institution_id,
		provider_type = excluded.provider_type, provider_state = excluded.provider_state, login_id = excluded.login_id,
		data = excluded.data, updated_at = excluded.updated_at, version = connect_sessions.version + 1,
		failures = CASE WHEN connect_sessions.step = 'DONE' THEN excluded.failures ELSE connect_sessions.failures END
	WHERE connect_sessions.version = $10::bigint
	RETURNING 1)
SELECT COALESCE((SELECT status FROM conn), ''), COALESCE((SELECT open FROM conn), false), (SELECT COUNT(*) FROM ins)`

// saveSessionPG is SaveConnectSession on PostgreSQL: one round trip
// instead of four (BEGIN, SELECT, INSERT, COMMIT). A widget step saves
// its session once or twice.
func (db *DB) saveSessionPG(ctx context.Context, s *banklink.ConnectSession) error {
	args, err := db.sessionArgs(s)
	if err != nil {
		return err
	}
	var status string
	var open bool
	var written int
	err = db.pool.QueryRow(ctx, pgSaveSessionSQL, args...).Scan(&status, &open, &written)
	if isForeignKeyViolation(err) {
		return banklink.Errorf(banklink.ENOTFOUND, "Institution %s not found.", s.InstitutionID)
	}
	switch {
	case err != nil:
		return fmt.Errorf("save connect session: %w", err)
	case status == "":
		return notFound("Connection")
	case !open:
		return banklink.Errorf(banklink.ECONFLICT, "Connection is %s, no longer in progress.", status)
	case written == 0:
		return sessionChanged()
	}
	s.Version++
	return nil
}
