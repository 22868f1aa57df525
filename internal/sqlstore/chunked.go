package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"banklink"
	"banklink/internal/crashpoint"
)

// Chunked aggregation saves (SQLite).
//
// SQLite has one writer. Saved in one transaction, a new connection's two
// years of history (1,200 transactions, each written to the table and
// seven indexes) held it for 50–100 ms of CPU, several times that on a
// busy machine, and every connect/start and widget step queued behind it:
// under the mixed load their p99 was 70–220 times the storage-free
// connect/start's. So a background save (banklink.Background) with more
// than chunkRows new transactions first inserts them in transactions of at
// most chunkRows rows each, in the batcher's background lane, which lets
// the interactive writes waiting in between go first (batch.go). The save's
// own transaction then does everything else as before: the accounts, the
// changed and expired transactions, the connection's status and the
// events, which commit together, after the rows they announce.
//
// What a person can see in between: the new transactions of an
// aggregation in progress become readable chunk by chunk, before the
// event announcing them, as with a provider that delivers pages. Crash
// safety is unchanged: the work stays pending until the save completes,
// and the aggregation run again finds the chunks' rows already stored
// (matched by provider transaction id) and adds only the rest. Its events
// then count as added only what that run inserted.
//
// PostgreSQL has concurrent writers and needs none of this.

// chunkRows bounds the new transactions one background transaction
// inserts: about 5 ms of the writer's CPU on the reference VM. Each chunk
// commits, and commits cost: 128 rows a chunk made a sandbox aggregation
// 22 % dearer in CPU than one transaction, 256 rows about half that.
const chunkRows = 256

// preAccount is what the chunks of a save wrote of one account.
type preAccount struct {
	id string
	// new: the chunks inserted the account's row (with historical false;
	// the save's own transaction sets it).
	new bool
	// inserted holds the provider ids of the transactions they inserted.
	inserted map[string]bool
}

// preInsert writes the new transactions of a large background save on
// SQLite in chunks, and returns what it wrote by provider account id; nil
// when the save is small, interactive, or on PostgreSQL.
func (db *DB) preInsert(ctx context.Context, scope banklink.Scope, connectionID string, agg banklink.Aggregation, at time.Time) (map[string]*preAccount, error) {
	if db.batch == nil || !banklink.IsBackground(ctx) {
		return nil, nil
	}
	rows := 0
	for _, a := range agg.Accounts {
		if !a.NotShared {
			rows += len(a.Transactions)
		}
	}
	if rows <= chunkRows {
		return nil, nil
	}
	// What is stored already is read beside the writer: only this
	// aggregation writes the connection's transactions (the runner runs
	// one aggregation of a connection at a time), and should another
	// insert one meanwhile, the unique index refuses the duplicate.
	owner, err := aggregationOwner(ctx, db.r, scope, connectionID)
	if err != nil {
		return nil, err
	}
	if owner.connectionID, err = dataOwner(ctx, db.r, connectionID); err != nil {
		return nil, err
	}
	type work struct {
		a     *banklink.AggregatedAccount
		p     *preAccount
		fresh []banklink.Transaction
	}
	var todo []work
	total := 0
	for i := range agg.Accounts {
		a := &agg.Accounts[i]
		if a.NotShared || len(a.Transactions) == 0 {
			continue
		}
		p := &preAccount{}
		known := map[string]bool{}
		err := db.r.QueryRowContext(ctx, `SELECT id FROM financial_accounts WHERE connection_id = $1 AND provider_account_id = $2`,
			owner.connectionID, a.ProviderAccountID).Scan(&p.id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			p.id, p.new = banklink.NewID(), true
		case err != nil:
			return nil, fmt.Errorf("save aggregation: %w", err)
		default:
			if known, err = providerTransactionIDs(ctx, db.r, p.id); err != nil {
				return nil, err
			}
		}
		var fresh []banklink.Transaction
		p.inserted = map[string]bool{}
		for _, t := range a.Transactions {
			if !known[t.ProviderTransactionID] && !p.inserted[t.ProviderTransactionID] {
				fresh = append(fresh, t)
				p.inserted[t.ProviderTransactionID] = true
			}
		}
		if len(fresh) > 0 {
			todo = append(todo, work{a, p, fresh})
			total += len(fresh)
		}
	}
	if total <= chunkRows {
		return nil, nil // a refresh: the save's own transaction is short
	}
	// The chunks take the new rows of every account together, oldest
	// first: a chunk's rows then span a narrow range of days. The
	// tenant-wide newest-first index (transactions_scope) orders rows by
	// day, so each row of a two-year backfill lands on the page of its
	// day, and a chunk writes one page of that index per distinct day it
	// holds. Chunked one account after another, every chunk spanned
	// 256 days (one page per row); taken together by date, the chunks of
	// a save write each day's page about once.
	type row struct{ w, i int }
	order := make([]row, 0, total)
	for w := range todo {
		for i := range todo[w].fresh {
			order = append(order, row{w, i})
		}
	}
	slices.SortStableFunc(order, func(a, b row) int {
		return strings.Compare(todo[a.w].fresh[a.i].TransactionDate, todo[b.w].fresh[b.i].TransactionDate)
	})
	pre := map[string]*preAccount{}
	chunks := 0
	for start := 0; start < len(order); start += chunkRows {
		chunk := order[start:min(start+chunkRows, len(order))]
		byAccount := make([][]banklink.Transaction, len(todo))
		for _, r := range chunk {
			byAccount[r.w] = append(byAccount[r.w], todo[r.w].fresh[r.i])
		}
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			// The connection may have been deleted between chunks:
			// nothing may be added to it then.
			if _, err := aggregationOwner(ctx, tx, scope, connectionID); err != nil {
				return err
			}
			for wi, rows := range byAccount {
				if len(rows) == 0 {
					continue
				}
				w := todo[wi]
				// pre holds the accounts earlier chunks wrote.
				if _, written := pre[w.a.ProviderAccountID]; w.p.new && !written {
					data, err := json.Marshal(accountData{Balances: w.a.Balances, Identifiers: w.a.Identifiers, Owners: w.a.Owners})
					if err != nil {
						return err
					}
					if err := insertAccount(ctx, tx, scope, owner, *w.a, w.p.id, data, false, at); err != nil {
						return fmt.Errorf("save account: %w", err)
					}
				}
				if err := insertTransactions(ctx, tx, scope, owner.customerID, owner.connectionID, w.p.id, owner.provider, rows, at); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for wi, rows := range byAccount {
			if len(rows) > 0 {
				pre[todo[wi].a.ProviderAccountID] = todo[wi].p
			}
		}
		if chunks++; chunks == 1 {
			crashpoint.Hit(crashpoint.BetweenChunks)
		}
	}
	return pre, nil
}

// providerTransactionIDs returns the provider ids of a financial
// account's stored transactions.
func providerTransactionIDs(ctx context.Context, q rowQuerier, accountID string) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT provider_transaction_id FROM transactions WHERE financial_account_id = $1`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}
