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
)

// UpsertCustomer implements banklink.CustomerStore.
func (db *DB) UpsertCustomer(ctx context.Context, c *banklink.Customer) (*banklink.Customer, bool, error) {
	var created bool
	data, err := json.Marshal(c.Details)
	if err != nil {
		return nil, false, err
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = db.now()
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO customers (id, account_id, environment, external_id, status, created_at, data)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account_id, environment, external_id) DO NOTHING`,
			c.ID, c.AccountID, string(c.Environment), c.ExternalID, banklink.CustomerStatusActive, micros(c.CreatedAt), string(data))
		if isForeignKeyViolation(err) {
			return notFound("Account")
		}
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		created = n == 1
		if !created && c.Details != (banklink.CustomerDetails{}) {
			_, err = tx.ExecContext(ctx, `UPDATE customers SET data = $1 WHERE account_id = $2 AND environment = $3 AND external_id = $4`,
				string(data), c.AccountID, string(c.Environment), c.ExternalID)
		}
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("upsert customer: %w", err)
	}
	stored, err := db.FindCustomerByExternalID(ctx, banklink.Scope{AccountID: c.AccountID, Environment: c.Environment}, c.ExternalID)
	return stored, created, err
}

// FindCustomers implements banklink.CustomerStore.
func (db *DB) FindCustomers(ctx context.Context, scope banklink.Scope, f banklink.CustomerFilter) ([]*banklink.Customer, int, error) {
	c := customerConds(scope, f)
	base := conds{where: slices.Clone(c.where), args: slices.Clone(c.args)}
	// Ordered by external id, as Meld lists customers; a cursor is a key,
	// whose customer's external id is where the next page starts.
	order := "ASC"
	cursor := func(param, key, cmp string, into *conds) error {
		seq, err := db.keys.parseSeq(scope, param, key)
		if err != nil {
			return err
		}
		var ext string
		err = db.r.QueryRowContext(ctx, `SELECT external_id FROM customers WHERE seq = $1 AND account_id = $2 AND environment = $3`,
			seq, scope.AccountID, string(scope.Environment)).Scan(&ext)
		if errors.Is(err, sql.ErrNoRows) {
			return banklink.FieldErrorf(param, "is not a valid cursor; pass the key of a record from a previous page")
		}
		if err != nil {
			return err
		}
		into.add("external_id "+cmp+" ?", ext)
		return nil
	}
	switch {
	case f.After != "":
		if err := cursor("after", f.After, ">", &c); err != nil {
			return nil, 0, err
		}
	case f.Before != "":
		if err := cursor("before", f.Before, "<", &c); err != nil {
			return nil, 0, err
		}
		order = "DESC"
	}
	rows, err := db.r.QueryContext(ctx, customersSQL(c, order, f.Limit), c.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("find customers: %w", err)
	}
	defer rows.Close()
	out := []*banklink.Customer{}
	for rows.Next() {
		cu, err := scanCustomer(db.keys, rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, cu)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if order == "DESC" {
		slices.Reverse(out)
	}
	if len(out) == 0 {
		return out, 0, nil
	}
	if order == "DESC" {
		base.add("external_id < ?", storedExternalID(out[0]))
	} else {
		base.add("external_id > ?", storedExternalID(out[len(out)-1]))
	}
	remaining, err := db.countBeyond(ctx, countSQL(" FROM customers", base), base.args)
	if err != nil {
		return nil, 0, err
	}
	return out, remaining, nil
}

// customerConds selects the tenant's active customers matching f; the
// list and its count walk customers_listed.
func customerConds(scope banklink.Scope, f banklink.CustomerFilter) conds {
	var c conds
	c.add("account_id = ?", scope.AccountID)
	c.add("environment = ?", string(scope.Environment))
	c.add("status = ?", banklink.CustomerStatusActive)
	c.addIf("external_id = ?", f.ExternalID)
	// Details are JSON: match the exact encoded field, with LIKE's own
	// wildcards escaped (emails often contain "_").
	for _, x := range []struct{ field, v string }{{"email", f.Email}, {"phone", f.Phone}} {
		if x.v != "" {
			enc, _ := json.Marshal(x.v)
			c.add(`data LIKE ? ESCAPE '\'`, "%"+likeEscape(`"`+x.field+`":`+string(enc))+"%")
		}
	}
	if len(f.IDs) > 0 {
		in := ""
		for i, id := range f.IDs {
			c.args = append(c.args, id)
			if i > 0 {
				in += ", "
			}
			in += "$" + strconv.Itoa(len(c.args))
		}
		c.where = append(c.where, "id IN ("+in+")")
	}
	return c
}

// customersSQL is the query of one page of customers, ordered by external
// id in order ("ASC" or "DESC").
func customersSQL(c conds, order string, limit int) string {
	return `SELECT ` + customerColumns + ` FROM customers WHERE ` + c.sql() + ` ORDER BY external_id ` + order + ` LIMIT ` + strconv.Itoa(max(limit, 1))
}

// DeleteCustomer implements banklink.CustomerStore.
func (db *DB) DeleteCustomer(ctx context.Context, scope banklink.Scope, id string, at time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var ext string
		err := tx.QueryRowContext(ctx, `SELECT external_id FROM customers WHERE id = $1 AND account_id = $2 AND environment = $3 AND status <> 'DELETED'`,
			id, scope.AccountID, string(scope.Environment)).Scan(&ext)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("Customer")
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM financial_accounts WHERE customer_id = $1`, id); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM connections WHERE customer_id = $1 AND status <> 'DELETED' ORDER BY seq`, id)
		if err != nil {
			return err
		}
		var live []string
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return err
			}
			live = append(live, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE connections SET status = $1, status_reason = '', updated_at = $2 WHERE customer_id = $3`,
			string(banklink.StatusDeleted), micros(at), id); err != nil {
			return err
		}
		// Meld sends CONNECTION_DELETED when a customer is deleted too.
		if err := db.emitDeleted(ctx, tx, scope, at, live...); err != nil {
			return err
		}
		// Free the external id: the app may start over with it.
		_, err = tx.ExecContext(ctx, `UPDATE customers SET status = $1, external_id = $2, data = '{}' WHERE id = $3`,
			banklink.CustomerStatusDeleted, "deleted:"+id+":"+ext, id)
		return err
	})
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}
