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
// profile that was never attempted or is leased (the claimable rule).
// The window computes that in one ordered pass over the pending rows (the
// webhook_deliveries_order index gives that order); claimable's per-row
// NOT EXISTS probe cost 14 µs a row, 43 ms a claim with 3,000 pending,
// which made the claims the outbox's bottleneck on PostgreSQL. Window
// queries cannot lock rows, so the middle level locks the chosen
// candidates, re-checking them and skipping any another claimer holds:
// replicas claiming at once take different rows and never wait on (or
// deadlock with) each other.
const pgClaimSQL = `WITH c AS (UPDATE webhook_deliveries d SET lease_owner = $2, lease_until = $3 WHERE d.id IN (
	SELECT w.id FROM webhook_deliveries w WHERE w.id IN (
		SELECT id FROM (SELECT id, next_attempt_at, event_seq, lease_until, connection_id,
			bool_or(attempts = 0 OR lease_until > $1) OVER (PARTITION BY profile_id, connection_id ORDER BY event_seq
				ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS held
			FROM webhook_deliveries WHERE state = 'PENDING') x
		WHERE next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1) AND (connection_id = '' OR held IS NOT TRUE)
		ORDER BY next_attempt_at, event_seq LIMIT $4)
	AND w.state = 'PENDING' AND (w.lease_until IS NULL OR w.lease_until <= $1)
	FOR UPDATE OF w SKIP LOCKED)
	RETURNING d.*)
SELECT ` + deliveryColumns + `, ` + eventColumns + `, ` + profileColumns + `
	FROM c d JOIN webhook_events e ON e.seq = d.event_seq JOIN webhook_profiles wp ON wp.id = d.profile_id
	ORDER BY d.next_attempt_at, d.event_seq`

// claimPG is ClaimDeliveries on PostgreSQL: one round trip (the claim and
// the read of what it leased) instead of three. An empty claim writes
// nothing, so it commits without a WAL flush, and needs no cheap read
// first.
func (db *DB) claimPG(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]*banklink.Delivery, error) {
	rows, err := db.pool.Query(ctx, pgClaimSQL, micros(now), owner, micros(leaseUntil), limit)
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return out, nil
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
// transaction (BEGIN, 2n statements, COMMIT).
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
	rows, err := db.pool.Query(ctx, pgFinishSQL, owner, ids, attempts, ats, urls, codes, reasons, latencies, responses, states, nexts, delivered)
	if err != nil {
		return nil, fmt.Errorf("finish deliveries: %w", err)
	}
	kept, err := pgx.CollectRows(rows, pgx.RowTo[string])
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
