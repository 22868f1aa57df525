package sqlstore

import (
	"bytes"
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

type holdingData struct {
	Symbol       string   `json:"symbol"`
	Description  string   `json:"description"`
	Quantity     float64  `json:"quantity"`
	ClosePrice   float64  `json:"closePrice"`
	CurrentValue float64  `json:"currentValue"`
	CostBasis    *float64 `json:"costBasis,omitempty"`
	Currency     string   `json:"currency"`
	CUSIP        string   `json:"cusip,omitempty"`
	ISIN         string   `json:"isin,omitempty"`
	Type         string   `json:"type"`
}

type investmentTxData struct {
	Amount      float64 `json:"amount"`
	Quantity    float64 `json:"quantity"`
	Price       float64 `json:"price"`
	Symbol      string  `json:"symbol"`
	Description string  `json:"description"`
	Currency    string  `json:"currency"`
	Type        string  `json:"type"`
	PostedDate  string  `json:"postedDate,omitempty"`
}

// saveHoldings makes the account's holdings the given snapshot: matched by
// provider holding id (ids and cursors stay stable), missing ones removed.
// A holding's provider payload follows the rules of rawSet.
func saveHoldings(ctx context.Context, tx *sql.Tx, scope banklink.Scope, customerID, connectionID, accountID, provider string, list []banklink.Holding, at time.Time) error {
	keep := make([]any, 0, len(list))
	for _, h := range list {
		data, err := json.Marshal(holdingData{Symbol: h.Symbol, Description: h.Description, Quantity: h.Quantity, ClosePrice: h.ClosePrice,
			CurrentValue: h.CurrentValue, CostBasis: h.CostBasis, Currency: h.Currency, CUSIP: h.CUSIP, ISIN: h.ISIN, Type: h.Type})
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO holdings (id, account_id, environment, customer_id, connection_id, financial_account_id,
			provider_holding_id, data, updated_at, raw, raw_provider, raw_updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (financial_account_id, provider_holding_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at,
				raw = COALESCE(excluded.raw, holdings.raw), raw_provider = COALESCE(excluded.raw_provider, holdings.raw_provider),
				raw_updated_at = CASE WHEN excluded.raw IS NULL OR excluded.raw = holdings.raw THEN holdings.raw_updated_at ELSE excluded.raw_updated_at END`,
			append([]any{banklink.NewID(), scope.AccountID, string(scope.Environment), customerID, connectionID, accountID, h.ProviderHoldingID, string(data), micros(at)},
				rawValues(h.Raw, provider, at)...)...); err != nil {
			return fmt.Errorf("save holding: %w", err)
		}
		keep = append(keep, h.ProviderHoldingID)
	}
	q := `DELETE FROM holdings WHERE financial_account_id = $1`
	args := []any{accountID}
	if len(keep) > 0 {
		var ph []string
		for i := range keep {
			ph = append(ph, "$"+strconv.Itoa(i+2))
		}
		q += ` AND provider_holding_id NOT IN (` + strings.Join(ph, ", ") + `)`
		args = append(args, keep...)
	}
	_, err := tx.ExecContext(ctx, q, args...)
	return err
}

// saveInvestmentTransactions inserts new trades and updates changed ones;
// the provider's payloads of the others are refreshed in batches.
func saveInvestmentTransactions(ctx context.Context, tx *sql.Tx, scope banklink.Scope, customerID, connectionID, accountID, provider string, list []banklink.InvestmentTransaction, at time.Time) (added, updated int, err error) {
	known := map[string]string{} // provider id -> data+status
	knownRaw := map[string][]byte{}
	// Stored payloads are read only to compare new ones with.
	rawCol := "NULL"
	if slices.ContainsFunc(list, func(t banklink.InvestmentTransaction) bool { return len(t.Raw) > 0 }) {
		rawCol = "raw"
	}
	rows, err := tx.QueryContext(ctx, `SELECT provider_transaction_id, status, data, `+rawCol+` FROM investment_transactions WHERE financial_account_id = $1`, accountID)
	if err != nil {
		return 0, 0, err
	}
	for rows.Next() {
		var id, status, data string
		var raw []byte
		if err := rows.Scan(&id, &status, &data, &raw); err != nil {
			rows.Close()
			return 0, 0, err
		}
		known[id] = status + data
		if raw != nil {
			knownRaw[id] = raw
		}
	}
	rows.Close()
	var refresh []rawRow
	for _, t := range list {
		b, err := json.Marshal(investmentTxData{Amount: t.Amount, Quantity: t.Quantity, Price: t.Price, Symbol: t.Symbol, Description: t.Description,
			Currency: t.Currency, Type: t.Type, PostedDate: t.PostedDate})
		if err != nil {
			return 0, 0, err
		}
		day, ok := toDay(t.TransactionDate)
		if !ok {
			return 0, 0, fmt.Errorf("investment transaction %s: bad date %q", t.ProviderTransactionID, t.TransactionDate)
		}
		old, exists := known[t.ProviderTransactionID]
		switch {
		case !exists:
			_, err = tx.ExecContext(ctx, `INSERT INTO investment_transactions (id, account_id, environment, customer_id, connection_id, financial_account_id,
				provider_transaction_id, transaction_day, status, data, updated_at, raw, raw_provider, raw_updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
				append([]any{banklink.NewID(), scope.AccountID, string(scope.Environment), customerID, connectionID, accountID, t.ProviderTransactionID, day, t.Status, string(b), micros(at)},
					rawValues(t.Raw, provider, at)...)...)
			added++
		case old != t.Status+string(b):
			q := `UPDATE investment_transactions SET status = $1, data = $2, updated_at = $3`
			args := []any{t.Status, string(b), micros(at), accountID, t.ProviderTransactionID}
			if len(t.Raw) > 0 {
				q += `, ` + rawSet(6, 7, 3)
				args = append(args, rawText(t.Raw), provider)
			}
			_, err = tx.ExecContext(ctx, q+` WHERE financial_account_id = $4 AND provider_transaction_id = $5`, args...)
			updated++
		case len(t.Raw) > 0 && !bytes.Equal(t.Raw, knownRaw[t.ProviderTransactionID]):
			refresh = append(refresh, rawRow{t.ProviderTransactionID, t.Raw})
		}
		if err != nil {
			return 0, 0, fmt.Errorf("save investment transaction: %w", err)
		}
	}
	if err := refreshRaw(ctx, tx, "investment_transactions", accountID, provider, refresh, at); err != nil {
		return 0, 0, err
	}
	return added, updated, nil
}

const holdingColumns = `h.seq, h.id, h.account_id, h.environment, h.customer_id, cu.external_id, h.connection_id, h.financial_account_id, h.provider_holding_id, h.data, h.updated_at, h.raw, h.raw_provider, h.raw_updated_at`
const holdingFrom = ` FROM holdings h JOIN customers cu ON cu.id = h.customer_id`

func scanHolding(k *cursorKeys, row scanner) (*banklink.Holding, error) {
	var h banklink.Holding
	var seq, updated int64
	var env, data string
	var raw rawScan
	if err := row.Scan(append([]any{&seq, &h.ID, &h.AccountID, &env, &h.CustomerID, &h.ExternalCustomerID, &h.ConnectionID, &h.FinancialAccountID, &h.ProviderHoldingID, &data, &updated},
		raw.dest()...)...); err != nil {
		return nil, err
	}
	raw.into(&h.Raw, &h.RawProvider, &h.RawUpdatedAt)
	h.ExternalCustomerID = externalID(h.ExternalCustomerID)
	var d holdingData
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		return nil, err
	}
	h.Key, h.UpdatedAt = k.seqKey(h.AccountID, env, seq), fromMicros(updated)
	h.Symbol, h.Description, h.Quantity, h.ClosePrice, h.CurrentValue, h.CostBasis = d.Symbol, d.Description, d.Quantity, d.ClosePrice, d.CurrentValue, d.CostBasis
	h.Currency, h.CUSIP, h.ISIN, h.Type = d.Currency, d.CUSIP, d.ISIN, d.Type
	return &h, nil
}

// FindHoldingByID implements banklink.InvestmentStore.
func (db *DB) FindHoldingByID(ctx context.Context, scope banklink.Scope, id string) (*banklink.Holding, error) {
	h, err := scanHolding(db.keys, db.r.QueryRowContext(ctx, `SELECT `+holdingColumns+holdingFrom+` WHERE h.id = $1 AND h.account_id = $2 AND h.environment = $3`,
		id, scope.AccountID, string(scope.Environment)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Investment holding")
	}
	if err != nil {
		return nil, fmt.Errorf("find holding: %w", err)
	}
	return h, fillConnectionIDs(ctx, db.r, []*banklink.Holding{h}, holdingConnection, setHoldingConnections)
}

func holdingConnection(h *banklink.Holding) string                        { return h.ConnectionID }
func setHoldingConnections(h *banklink.Holding, ids []string)             { h.ConnectionIDs = ids }
func invTxConnection(t *banklink.InvestmentTransaction) string            { return t.ConnectionID }
func setInvTxConnections(t *banklink.InvestmentTransaction, ids []string) { t.ConnectionIDs = ids }

// FindHoldings implements banklink.InvestmentStore.
func (db *DB) FindHoldings(ctx context.Context, scope banklink.Scope, f banklink.HoldingFilter) ([]*banklink.Holding, int, error) {
	var err error
	if f.ConnectionID != "" {
		if f.ConnectionID, err = dataOwner(ctx, db.r, f.ConnectionID); err != nil {
			return nil, 0, err
		}
	}
	q, c := db.holdingsQuery(scope, f)
	list, remaining, err := q.run(ctx, db, c, f.After, f.Before, f.Limit)
	if err != nil {
		return nil, 0, err
	}
	return list, remaining, fillConnectionIDs(ctx, db.r, list, holdingConnection, setHoldingConnections)
}

// holdingsQuery is FindHoldings' query. A connection's, account's or
// customer's holdings are found through that column's index (see
// addScope).
func (db *DB) holdingsQuery(scope banklink.Scope, f banklink.HoldingFilter) (listQuery[banklink.Holding], conds) {
	var c conds
	db.addScope(&c, "h", scope, f.ConnectionID != "" || f.FinancialAccountID != "" || f.CustomerID != "" || f.ExternalCustomerID != "")
	c.addIf("h.customer_id = ?", f.CustomerID)
	c.addIf("cu.external_id = ?", f.ExternalCustomerID)
	c.addIf("h.financial_account_id = ?", f.FinancialAccountID)
	c.addIf("h.connection_id = ?", f.ConnectionID)
	return listQuery[banklink.Holding]{cols: holdingColumns, from: holdingFrom, alias: "h", scope: scope,
		scan: scanHolding, key: func(h *banklink.Holding) string { return h.Key }}, c
}

const invTxColumns = `t.seq, t.id, t.account_id, t.environment, t.customer_id, cu.external_id, t.connection_id, t.financial_account_id, t.provider_transaction_id, t.transaction_day, t.status, t.data, t.raw, t.raw_provider, t.raw_updated_at`
const invTxFrom = ` FROM investment_transactions t JOIN customers cu ON cu.id = t.customer_id`

func scanInvestmentTx(k *cursorKeys, row scanner) (*banklink.InvestmentTransaction, error) {
	var t banklink.InvestmentTransaction
	var seq, day int64
	var env, data string
	var raw rawScan
	if err := row.Scan(append([]any{&seq, &t.ID, &t.AccountID, &env, &t.CustomerID, &t.ExternalCustomerID, &t.ConnectionID, &t.FinancialAccountID, &t.ProviderTransactionID, &day, &t.Status, &data},
		raw.dest()...)...); err != nil {
		return nil, err
	}
	raw.into(&t.Raw, &t.RawProvider, &t.RawUpdatedAt)
	t.ExternalCustomerID = externalID(t.ExternalCustomerID)
	var d investmentTxData
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		return nil, err
	}
	t.Key, t.TransactionDate = k.dayKey(t.AccountID, env, day, seq), fromDay(day)
	t.Amount, t.Quantity, t.Price, t.Symbol, t.Description, t.Currency, t.Type, t.PostedDate = d.Amount, d.Quantity, d.Price, d.Symbol, d.Description, d.Currency, d.Type, d.PostedDate
	return &t, nil
}

// FindInvestmentTransactionByID implements banklink.InvestmentStore.
func (db *DB) FindInvestmentTransactionByID(ctx context.Context, scope banklink.Scope, id string) (*banklink.InvestmentTransaction, error) {
	t, err := scanInvestmentTx(db.keys, db.r.QueryRowContext(ctx, `SELECT `+invTxColumns+invTxFrom+` WHERE t.id = $1 AND t.account_id = $2 AND t.environment = $3`,
		id, scope.AccountID, string(scope.Environment)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Investment transaction")
	}
	if err != nil {
		return nil, fmt.Errorf("find investment transaction: %w", err)
	}
	return t, fillConnectionIDs(ctx, db.r, []*banklink.InvestmentTransaction{t}, invTxConnection, setInvTxConnections)
}

// FindInvestmentTransactions implements banklink.InvestmentStore: newest
// first, like transactions.
func (db *DB) FindInvestmentTransactions(ctx context.Context, scope banklink.Scope, f banklink.InvestmentTransactionFilter) ([]*banklink.InvestmentTransaction, int, error) {
	if f.ConnectionID != "" {
		var err error
		if f.ConnectionID, err = dataOwner(ctx, db.r, f.ConnectionID); err != nil {
			return nil, 0, err
		}
	}
	q, c, err := db.investmentTransactionsQuery(scope, f)
	if err != nil {
		return nil, 0, err
	}
	list, remaining, err := q.run(ctx, db, c, f.After, f.Before, f.Limit)
	if err != nil {
		return nil, 0, err
	}
	return list, remaining, fillConnectionIDs(ctx, db.r, list, invTxConnection, setInvTxConnections)
}

// investmentTransactionsQuery is FindInvestmentTransactions' query. A
// connection's or account's transactions are found through that column's
// index (see addScope).
func (db *DB) investmentTransactionsQuery(scope banklink.Scope, f banklink.InvestmentTransactionFilter) (listQuery[banklink.InvestmentTransaction], conds, error) {
	var c conds
	db.addScope(&c, "t", scope, f.ConnectionID != "" || f.FinancialAccountID != "" || f.CustomerID != "" || f.ExternalCustomerID != "")
	c.addIf("t.customer_id = ?", f.CustomerID)
	c.addIf("cu.external_id = ?", f.ExternalCustomerID)
	c.addIf("t.financial_account_id = ?", f.FinancialAccountID)
	c.addIf("t.connection_id = ?", f.ConnectionID)
	if len(f.Statuses) > 0 {
		var ph []string
		for _, s := range f.Statuses {
			c.args = append(c.args, s)
			ph = append(ph, "$"+strconv.Itoa(len(c.args)))
		}
		c.where = append(c.where, "t.status IN ("+strings.Join(ph, ", ")+")")
	}
	q := listQuery[banklink.InvestmentTransaction]{cols: invTxColumns, from: invTxFrom, alias: "t", newestFirst: true, scope: scope,
		scan: scanInvestmentTx, key: func(t *banklink.InvestmentTransaction) string { return t.Key }}
	return q, c, c.addDays("t", f.StartDate, f.EndDate)
}
