package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Duplicate connections share their data. Linking the same login twice
// (the same customer, institution, provider and provider login) makes
// duplicates (demoteDuplicates); as in Meld, they hold one set of
// accounts. The rows (accounts, transactions, holdings, investment
// transactions) belong to one connection of the group, the data owner:
// the first of the group that saved an aggregation. Aggregations of any
// connection of the group are saved to it, reads by any connection of
// the group read it, every record lists the group's live connections as
// connectionIds, and deleting the owner hands the rows to another live
// connection of the group: the data goes only with the group's last
// connection.

// sameLogin joins connection d to the duplicates of connection c,
// including c itself.
const sameLogin = `d.customer_id = c.customer_id AND d.institution_id = c.institution_id AND d.provider_type = c.provider_type
	AND d.provider_login_id = c.provider_login_id AND c.provider_login_id <> '' AND d.status <> 'DELETED'`

type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// dataOwner returns the connection holding the data of connection id: a
// live duplicate of it that owns rows, or id itself.
func dataOwner(ctx context.Context, q rowQuerier, id string) (string, error) {
	var owner string
	err := q.QueryRowContext(ctx, `SELECT d.id FROM connections c JOIN connections d ON `+sameLogin+`
		WHERE c.id = $1 AND c.status <> 'DELETED' AND EXISTS (SELECT 1 FROM financial_accounts f WHERE f.connection_id = d.id)
		ORDER BY d.seq LIMIT 1`, id).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) {
		return id, nil
	}
	if err != nil {
		return "", fmt.Errorf("data owner: %w", err)
	}
	return owner, nil
}

// connectionGroups returns, for each owner connection id, the ids of the
// live connections sharing its data (itself first, then the others in
// creation order).
func connectionGroups(ctx context.Context, q rowQuerier, owners []string) (map[string][]string, error) {
	out := make(map[string][]string, len(owners))
	for _, o := range owners {
		if _, done := out[o]; done || o == "" {
			continue
		}
		out[o] = []string{o}
		rows, err := q.QueryContext(ctx, `SELECT d.id FROM connections c JOIN connections d ON `+sameLogin+`
			WHERE c.id = $1 AND d.id <> $1 ORDER BY d.seq`, o)
		if err != nil {
			return nil, fmt.Errorf("connection group: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			out[o] = append(out[o], id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// fillConnectionIDs sets the connectionIds of records read: the live
// connections sharing the data of the record's connection.
func fillConnectionIDs[T any](ctx context.Context, q rowQuerier, list []*T, owner func(*T) string, set func(*T, []string)) error {
	var owners []string
	for _, v := range list {
		owners = append(owners, owner(v))
	}
	groups, err := connectionGroups(ctx, q, owners)
	if err != nil {
		return err
	}
	for _, v := range list {
		set(v, groups[owner(v)])
	}
	return nil
}

// handOver gives the data of connection id, about to be deleted, to
// another live connection of its group; it reports false when there is
// none (the data goes with id).
func handOver(ctx context.Context, tx *sql.Tx, id string) (bool, error) {
	var heir string
	err := tx.QueryRowContext(ctx, `SELECT d.id FROM connections c JOIN connections d ON `+sameLogin+`
		WHERE c.id = $1 AND d.id <> $1 ORDER BY d.seq LIMIT 1`, id).Scan(&heir)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("hand over data: %w", err)
	}
	for _, table := range []string{"financial_accounts", "transactions", "holdings", "investment_transactions"} {
		if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET connection_id = $1 WHERE connection_id = $2`, heir, id); err != nil {
			return false, fmt.Errorf("hand over %s: %w", table, err)
		}
	}
	return true, nil
}
