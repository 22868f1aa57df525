package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"banklink"
	"banklink/webhook"
)

func toJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only slices of strings are stored this way
	}
	return string(b)
}

const (
	findCustomerSQL   = `SELECT seq, id, status, created_at FROM customers WHERE account_id = $1 AND environment = $2 AND external_id = $3`
	upsertCustomerSQL = `INSERT INTO customers (id, account_id, environment, external_id, status, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id, environment, external_id) DO UPDATE SET external_id = excluded.external_id
		RETURNING seq, id, status, created_at`
	insertConnectionSQL = `INSERT INTO connections (id, account_id, environment, customer_id, institution_id,
		institution_search_string, products, optional_products, regions, allow_redirect, redirect_url, routing_profile,
		status, status_reason, created_at, updated_at, expires_at, requested_provider)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING seq`
)

// hotWrites are prepared once at Open.
var hotWrites = []string{findCustomerSQL, upsertCustomerSQL, insertConnectionSQL}

// StartConnection implements banklink.ConnectionStore.
func (db *DB) StartConnection(ctx context.Context, cust *banklink.Customer, conn *banklink.Connection) error {
	now := db.now()
	if cust.CreatedAt.IsZero() {
		cust.CreatedAt = now
	}
	if conn.CreatedAt.IsZero() {
		conn.CreatedAt = now
	}
	if conn.UpdatedAt.IsZero() {
		conn.UpdatedAt = conn.CreatedAt
	}
	if db.dialect == Postgres && cust.ExternalID != "" {
		return db.startConnectionPG(ctx, cust, conn)
	}
	return db.inTx(ctx, func(tx *sql.Tx) error { return db.startInTx(ctx, tx, cust, conn) })
}

// startInTx is StartConnection in tx.
func (db *DB) startInTx(ctx context.Context, tx *sql.Tx, cust *banklink.Customer, conn *banklink.Connection) error {
	if cust.ExternalID == "" {
		if err := db.anonymousCustomer(ctx, tx, cust); err != nil {
			return err
		}
		return db.startConnection(ctx, tx, cust, conn)
	}
	{
		// Read first: a returning customer costs no write. A new one is
		// inserted; under concurrent starts for one new externalCustomerId
		// the conflict clause makes every caller end up with the same row
		// (the no-op update makes RETURNING yield it in both dialects).
		var seq, created int64
		find, err := db.txStmt(ctx, tx, findCustomerSQL)
		if err != nil {
			return fmt.Errorf("start connection: %w", err)
		}
		err = find.QueryRowContext(ctx, cust.AccountID, string(cust.Environment), cust.ExternalID).Scan(&seq, &cust.ID, &cust.Status, &created)
		if errors.Is(err, sql.ErrNoRows) {
			upsert, perr := db.txStmt(ctx, tx, upsertCustomerSQL)
			if perr != nil {
				return fmt.Errorf("start connection: %w", perr)
			}
			err = upsert.QueryRowContext(ctx, cust.ID, cust.AccountID, string(cust.Environment), cust.ExternalID, banklink.CustomerStatusActive, micros(cust.CreatedAt)).
				Scan(&seq, &cust.ID, &cust.Status, &created)
		}
		if isForeignKeyViolation(err) {
			return notFound("Account")
		}
		if err != nil {
			return fmt.Errorf("start connection: customer: %w", err)
		}
		cust.Key, cust.CreatedAt = db.keys.seqKey(cust.AccountID, string(cust.Environment), seq), fromMicros(created)
		return db.startConnection(ctx, tx, cust, conn)
	}
}

// anonymousPrefix starts the stored external id of a customer created
// without one (connect/start without externalCustomerId): external ids
// are unique per scope, and no id an app passes can start with a control
// character (banklink.CleanText), so prefix + customer id is unique and
// never matches an app's id. Reads give such customers "" (externalID).
const anonymousPrefix = "\x01anonymous:"

// externalID is the external id an app sees for a stored one: "" for a
// customer created without one.
func externalID(stored string) string {
	if strings.HasPrefix(stored, anonymousPrefix) {
		return ""
	}
	return stored
}

// storedExternalID is the stored external id of c, as read.
func storedExternalID(c *banklink.Customer) string {
	if c.ExternalID == "" {
		return anonymousPrefix + c.ID
	}
	return c.ExternalID
}

// anonymousCustomer resolves a customer given by id alone (cust.ID): the
// scope's live customer with that id, or else a new customer with no
// external id.
func (db *DB) anonymousCustomer(ctx context.Context, tx *sql.Tx, cust *banklink.Customer) error {
	var seq, created int64
	var ext string
	err := tx.QueryRowContext(ctx, `SELECT seq, status, created_at, external_id FROM customers WHERE id = $1 AND account_id = $2 AND environment = $3 AND status <> 'DELETED'`,
		cust.ID, cust.AccountID, string(cust.Environment)).Scan(&seq, &cust.Status, &created, &ext)
	if errors.Is(err, sql.ErrNoRows) {
		cust.Status = banklink.CustomerStatusActive
		err = tx.QueryRowContext(ctx, `INSERT INTO customers (id, account_id, environment, external_id, status, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq, created_at`,
			cust.ID, cust.AccountID, string(cust.Environment), anonymousPrefix+cust.ID, cust.Status, micros(cust.CreatedAt)).Scan(&seq, &created)
		ext = anonymousPrefix + cust.ID
	}
	if isForeignKeyViolation(err) {
		return notFound("Account")
	}
	if err != nil {
		return fmt.Errorf("start connection: customer: %w", err)
	}
	cust.ExternalID = externalID(ext)
	cust.Key, cust.CreatedAt = db.keys.seqKey(cust.AccountID, string(cust.Environment), seq), fromMicros(created)
	return nil
}

// startConnection inserts conn for the resolved customer cust.
func (db *DB) startConnection(ctx context.Context, tx *sql.Tx, cust *banklink.Customer, conn *banklink.Connection) error {
	{
		var seq int64
		var instID sql.NullString
		if conn.InstitutionID != "" {
			if err := tx.QueryRowContext(ctx, `SELECT name FROM institutions WHERE id = $1`, conn.InstitutionID).Scan(&conn.InstitutionName); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return banklink.Errorf(banklink.ENOTFOUND, "Institution %s not found.", conn.InstitutionID)
				}
				return fmt.Errorf("start connection: find institution: %w", err)
			}
			instID = sql.NullString{String: conn.InstitutionID, Valid: true}
		}
		conn.CustomerID, conn.ExternalCustomerID = cust.ID, cust.ExternalID
		insert, err := db.txStmt(ctx, tx, insertConnectionSQL)
		if err != nil {
			return fmt.Errorf("start connection: %w", err)
		}
		err = insert.QueryRowContext(ctx,
			conn.ID, conn.AccountID, string(conn.Environment), conn.CustomerID, instID,
			conn.InstitutionSearchString, toJSON(nonNil(conn.Products)), toJSON(nonNil(conn.OptionalProducts)), toJSON(nonNil(conn.Regions)),
			conn.AllowRedirect, conn.RedirectURL, conn.RoutingProfile,
			string(conn.Status), conn.StatusReason, micros(conn.CreatedAt), micros(conn.UpdatedAt), micros(conn.ExpiresAt),
			conn.RequestedProvider,
		).Scan(&seq)
		if isUniqueViolation(err) {
			return banklink.Errorf(banklink.ECONFLICT, "Connection %s already exists.", conn.ID)
		}
		if err != nil {
			return fmt.Errorf("start connection: insert: %w", err)
		}
		conn.Key = db.keys.seqKey(conn.AccountID, string(conn.Environment), seq)
		return nil
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

const connectionColumns = `c.seq, c.id, c.account_id, c.environment, c.customer_id, cu.external_id, c.institution_id, i.name,
	c.institution_search_string, c.products, c.optional_products, c.regions, c.allow_redirect, c.redirect_url,
	c.routing_profile, c.status, c.status_reason, c.created_at, c.updated_at, c.expires_at,
	c.provider_type, c.provider_login_id, c.completed_at, c.aggregated_at, c.requested_provider, c.routing_decision, c.provider_state`

const connectionFrom = ` FROM connections c JOIN customers cu ON cu.id = c.customer_id LEFT JOIN institutions i ON i.id = c.institution_id`

func scanConnection(k *cursorKeys, row scanner) (*banklink.Connection, error) {
	var c banklink.Connection
	var seq, created, updated, expires int64
	var env, status, products, optional, regions string
	var instID, instName sql.NullString
	var completed, aggregated sql.NullInt64
	var routing string
	if err := row.Scan(&seq, &c.ID, &c.AccountID, &env, &c.CustomerID, &c.ExternalCustomerID, &instID, &instName,
		&c.InstitutionSearchString, &products, &optional, &regions, &c.AllowRedirect, &c.RedirectURL,
		&c.RoutingProfile, &status, &c.StatusReason, &created, &updated, &expires,
		&c.ProviderType, &c.ProviderLoginID, &completed, &aggregated, &c.RequestedProvider, &routing, &c.ProviderState); err != nil {
		return nil, err
	}
	c.ExternalCustomerID = externalID(c.ExternalCustomerID)
	if routing != "" {
		c.RoutingDecision = &banklink.RoutingDecision{}
		if err := json.Unmarshal([]byte(routing), c.RoutingDecision); err != nil {
			return nil, fmt.Errorf("decode routing decision of %s: %w", c.ID, err)
		}
	}
	c.CompletedAt, c.AggregatedAt = fromNullMicros(completed), fromNullMicros(aggregated)
	c.Key = k.seqKey(c.AccountID, env, seq)
	c.Environment, c.Status = banklink.Environment(env), banklink.ConnectionStatus(status)
	c.InstitutionID, c.InstitutionName = instID.String, instName.String
	c.CreatedAt, c.UpdatedAt, c.ExpiresAt = fromMicros(created), fromMicros(updated), fromMicros(expires)
	for _, f := range []struct {
		src string
		dst any
	}{{products, &c.Products}, {optional, &c.OptionalProducts}, {regions, &c.Regions}} {
		if err := json.Unmarshal([]byte(f.src), f.dst); err != nil {
			return nil, fmt.Errorf("decode connection %s: %w", c.ID, err)
		}
	}
	return &c, nil
}

// queryConnections runs a query selecting connectionColumns (FROM
// connectionFrom) and scans every row.
func (db *DB) queryConnections(ctx context.Context, query string, args ...any) ([]*banklink.Connection, error) {
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*banklink.Connection
	for rows.Next() {
		c, err := scanConnection(db.keys, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// FindConnectionByID implements banklink.ConnectionStore.
func (db *DB) FindConnectionByID(ctx context.Context, scope banklink.Scope, id string) (*banklink.Connection, error) {
	c, err := scanConnection(db.keys, db.r.QueryRowContext(ctx, `SELECT `+connectionColumns+connectionFrom+
		` WHERE c.id = $1 AND c.account_id = $2 AND c.environment = $3`, id, scope.AccountID, string(scope.Environment)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Connection")
	}
	if err != nil {
		return nil, fmt.Errorf("find connection %q: %w", id, err)
	}
	return c, db.fillDuplicates(ctx, []*banklink.Connection{c})
}

// fillDuplicates finds each linked connection's duplicates: the same
// customer, institution, provider and provider login.
func (db *DB) fillDuplicates(ctx context.Context, list []*banklink.Connection) error {
	// One query for the whole page, not one per connection: a page of
	// 100 connections cost 100 round trips.
	type login struct{ customer, institution, provider, id string }
	wanted := map[login][]*banklink.Connection{}
	types, ids := map[string]bool{}, map[string]bool{}
	for _, c := range list {
		if c.ProviderLoginID == "" || c.Status == banklink.StatusDeleted {
			continue
		}
		k := login{c.CustomerID, c.InstitutionID, c.ProviderType, c.ProviderLoginID}
		wanted[k] = append(wanted[k], c)
		types[c.ProviderType], ids[c.ProviderLoginID] = true, true
	}
	if len(wanted) == 0 {
		return nil
	}
	// Both columns of connections_provider_login in IN lists: the index
	// answers; pairs that mix one login's type with another's id are
	// dropped by the lookup below.
	var args []any
	in := func(set map[string]bool) string {
		var marks []string
		for _, v := range slices.Sorted(maps.Keys(set)) {
			args = append(args, v)
			marks = append(marks, fmt.Sprintf("$%d", len(args)))
		}
		return "(" + strings.Join(marks, ", ") + ")"
	}
	typesIn := in(types)
	rows, err := db.r.QueryContext(ctx, `SELECT id, status, status_reason, customer_id, institution_id, provider_type, provider_login_id FROM connections
		WHERE provider_type IN `+typesIn+` AND provider_login_id IN `+in(ids)+` AND `+linked+`
		ORDER BY completed_at DESC, seq DESC`, args...)
	if err != nil {
		return fmt.Errorf("find duplicates: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, status, reason string
		var k login
		if err := rows.Scan(&id, &status, &reason, &k.customer, &k.institution, &k.provider, &k.id); err != nil {
			return err
		}
		for _, c := range wanted[k] {
			if c.ID == id {
				continue
			}
			c.DuplicateConnectionIDs = append(c.DuplicateConnectionIDs, id)
			if c.StatusReason == "INACTIVE_DUPLICATE" && reason != "INACTIVE_DUPLICATE" && c.ActiveDuplicateConnectionID == "" {
				c.ActiveDuplicateConnectionID = id
			}
		}
	}
	return rows.Err()
}

const customerColumns = `seq, id, account_id, environment, external_id, status, created_at, data`

func scanCustomer(k *cursorKeys, row scanner) (*banklink.Customer, error) {
	var c banklink.Customer
	var seq, created int64
	var env, data string
	if err := row.Scan(&seq, &c.ID, &c.AccountID, &env, &c.ExternalID, &c.Status, &created, &data); err != nil {
		return nil, err
	}
	c.ExternalID = externalID(c.ExternalID)
	if err := json.Unmarshal([]byte(data), &c.Details); err != nil {
		return nil, fmt.Errorf("decode customer %s: %w", c.ID, err)
	}
	c.Key, c.Environment, c.CreatedAt = k.seqKey(c.AccountID, env, seq), banklink.Environment(env), fromMicros(created)
	return &c, nil
}

// FindCustomerByID implements banklink.CustomerStore.
func (db *DB) FindCustomerByID(ctx context.Context, scope banklink.Scope, id string) (*banklink.Customer, error) {
	return db.findCustomer(ctx, `id`, id, scope)
}

// FindCustomerByExternalID implements banklink.CustomerStore.
func (db *DB) FindCustomerByExternalID(ctx context.Context, scope banklink.Scope, externalID string) (*banklink.Customer, error) {
	return db.findCustomer(ctx, `external_id`, externalID, scope)
}

func (db *DB) findCustomer(ctx context.Context, column, value string, scope banklink.Scope) (*banklink.Customer, error) {
	c, err := scanCustomer(db.keys, db.r.QueryRowContext(ctx, `SELECT `+customerColumns+` FROM customers WHERE `+column+` = $1 AND account_id = $2 AND environment = $3 AND status <> 'DELETED'`,
		value, scope.AccountID, string(scope.Environment)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Customer")
	}
	if err != nil {
		return nil, fmt.Errorf("find customer: %w", err)
	}
	return c, nil
}

// CountConnections counts every connection of every account; operators and
// tests use it.
func (db *DB) CountConnections(ctx context.Context) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM connections`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count connections: %w", err)
	}
	return n, nil
}

// FindConnections implements banklink.ConnectionStore.
func (db *DB) FindConnections(ctx context.Context, scope banklink.Scope, f banklink.ConnectionFilter) ([]*banklink.Connection, int, error) {
	var c conds
	db.addScope(&c, "c", scope, f.CustomerID != "" || f.ExternalCustomerID != "")
	c.addIf("c.customer_id = ?", f.CustomerID)
	c.addIf("cu.external_id = ?", f.ExternalCustomerID)
	c.addIf("c.institution_id = ?", f.InstitutionID)
	arg := func(v any) string {
		c.args = append(c.args, v)
		return "$" + strconv.Itoa(len(c.args))
	}
	if len(f.Statuses) > 0 {
		var or []string
		for _, s := range f.Statuses {
			// EXPIRED is lazy: an IN_PROGRESS connection past its
			// window is EXPIRED whatever the column says.
			switch s {
			case banklink.StatusExpired:
				or = append(or, fmt.Sprintf("c.status = %s OR (c.status = %s AND c.expires_at <= %s)", arg(string(s)), arg(string(banklink.StatusInProgress)), arg(micros(f.Now))))
			case banklink.StatusInProgress:
				or = append(or, fmt.Sprintf("(c.status = %s AND c.expires_at > %s)", arg(string(s)), arg(micros(f.Now))))
			default:
				or = append(or, "c.status = "+arg(string(s)))
			}
		}
		c.where = append(c.where, "("+strings.Join(or, " OR ")+")")
	}
	if len(f.ServiceProviders) > 0 {
		var in []string
		for _, p := range f.ServiceProviders {
			in = append(in, arg(p))
		}
		c.where = append(c.where, "c.provider_type IN ("+strings.Join(in, ", ")+")")
	}
	if !f.CreatedFrom.IsZero() {
		c.add("c.created_at >= ?", micros(f.CreatedFrom))
	}
	if !f.CreatedBefore.IsZero() {
		c.add("c.created_at < ?", micros(f.CreatedBefore))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 10
	}
	// The count needs the customers only to match an external id.
	countFrom := ` FROM connections c`
	if f.ExternalCustomerID != "" {
		countFrom += ` JOIN customers cu ON cu.id = c.customer_id`
	}
	out, remaining, err := listQuery[banklink.Connection]{cols: connectionColumns, from: connectionFrom, countFrom: countFrom, alias: "c", scope: scope,
		scan: scanConnection, key: func(c *banklink.Connection) string { return c.Key }}.run(ctx, db, c, f.After, f.Before, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("find connections: %w", err)
	}
	return out, remaining, db.fillDuplicates(ctx, out)
}

// DeleteConnection implements banklink.ConnectionStore.
func (db *DB) DeleteConnection(ctx context.Context, scope banklink.Scope, id string, at time.Time) (*banklink.Connection, error) {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var status string
		err := tx.QueryRowContext(ctx, `SELECT status FROM connections WHERE id = $1 AND account_id = $2 AND environment = $3`,
			id, scope.AccountID, string(scope.Environment)).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("Connection")
		}
		if err != nil {
			return err
		}
		if status == string(banklink.StatusDeleted) {
			return banklink.Errorf(banklink.ECONFLICT, "Connection %s is already deleted.", id)
		}
		// The data goes with the last connection sharing it
		// (duplicates.go); transactions go with their accounts (ON DELETE
		// CASCADE).
		shared, err := handOver(ctx, tx, id)
		if err != nil {
			return err
		}
		if !shared {
			if _, err := tx.ExecContext(ctx, `DELETE FROM financial_accounts WHERE connection_id = $1`, id); err != nil {
				return err
			}
		}
		if _, err = tx.ExecContext(ctx, `UPDATE connections SET status = $1, status_reason = '', updated_at = $2 WHERE id = $3`,
			string(banklink.StatusDeleted), micros(at), id); err != nil {
			return err
		}
		return db.emitDeleted(ctx, tx, scope, at, id)
	})
	if err != nil {
		return nil, err
	}
	return db.FindConnectionByID(ctx, scope, id)
}

// AcceptRefresh implements banklink.ConnectionStore.
func (db *DB) AcceptRefresh(ctx context.Context, scope banklink.Scope, id string, at time.Time, minInterval time.Duration) (time.Time, error) {
	var next time.Time
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var last sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT refresh_requested_at FROM connections WHERE id = $1 AND account_id = $2 AND environment = $3`,
			id, scope.AccountID, string(scope.Environment)).Scan(&last)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("Connection")
		}
		if err != nil {
			return err
		}
		if last.Valid && at.Sub(fromMicros(last.Int64)) < minInterval {
			next = fromMicros(last.Int64).Add(minInterval)
			return banklink.Errorf(banklink.ERATELIMITED, "This connection was refreshed less than %s ago; try again after %s.", minInterval, next.UTC().Format(time.RFC3339))
		}
		// The guard repeats the check so two replicas cannot both accept.
		res, err := tx.ExecContext(ctx, `UPDATE connections SET refresh_requested_at = $1, aggregation_requested = aggregation_requested + 1 WHERE id = $2 AND (refresh_requested_at IS NULL OR refresh_requested_at <= $3)`,
			micros(at), id, micros(at.Add(-minInterval)))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			next = at.Add(minInterval)
			return banklink.Errorf(banklink.ERATELIMITED, "This connection is being refreshed; try again after %s.", next.UTC().Format(time.RFC3339))
		}
		return nil
	})
	return next, err
}

// AddOptionalProducts implements banklink.ConnectionStore.
func (db *DB) AddOptionalProducts(ctx context.Context, scope banklink.Scope, id string, products []banklink.Product, at time.Time) (*banklink.Connection, error) {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var status, optional string
		err := tx.QueryRowContext(ctx, `SELECT status, optional_products FROM connections WHERE id = $1 AND account_id = $2 AND environment = $3`,
			id, scope.AccountID, string(scope.Environment)).Scan(&status, &optional)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("Connection")
		}
		if err != nil {
			return err
		}
		if status == string(banklink.StatusDeleted) {
			return banklink.Errorf(banklink.ECONFLICT, "Connection %s is deleted.", id)
		}
		var list []banklink.Product
		if err := json.Unmarshal([]byte(optional), &list); err != nil {
			return err
		}
		for _, p := range products {
			if !slices.Contains(list, p) {
				list = append(list, p)
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE connections SET optional_products = $1, updated_at = $2 WHERE id = $3`, toJSON(list), micros(at), id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return db.FindConnectionByID(ctx, scope, id)
}

// emitDeleted emits CONNECTION_DELETED for each connection.
func (db *DB) emitDeleted(ctx context.Context, tx *sql.Tx, scope banklink.Scope, at time.Time, ids ...string) error {
	var events []*banklink.Event
	for _, id := range ids {
		conn, err := connectionInTx(ctx, tx, id)
		if err != nil {
			return err
		}
		events = append(events, banklink.NewEvent(ctx, webhook.ConnectionDeleted, banklink.ConnectionPayload(conn)))
	}
	return db.emit(ctx, tx, scope, at, events...)
}
