package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Raw provider payloads (banklink's "Raw provider payloads"): the columns
// raw (the provider's JSON, as TEXT so that it is kept byte for byte),
// raw_provider and raw_updated_at of financial_accounts, transactions,
// holdings and investment_transactions. They are NULL until a provider
// sends a payload, and a save without one leaves them alone. A save with
// one stores it; raw_updated_at moves only when the bytes differ from the
// stored ones, so it says since when the stored payload is current, and a
// transaction whose data and payload did not change is not rewritten.

// rawValues are the three columns' values for a row inserted at at.
func rawValues(raw json.RawMessage, provider string, at time.Time) []any {
	if len(raw) == 0 {
		return []any{nil, nil, nil}
	}
	return []any{rawText(raw), provider, micros(at)}
}

// rawText is the payload as stored. JSON from a provider may hold bytes
// that are not UTF-8 inside its strings, which PostgreSQL's TEXT refuses
// (failing the whole aggregation): those, and only those, become U+FFFD.
func rawText(raw json.RawMessage) string {
	if utf8.Valid(raw) {
		return string(raw)
	}
	return string(bytes.ToValidUTF8(raw, []byte("\uFFFD")))
}

// rawSet is the SET clause storing the payload in parameters raw and
// provider on an existing row written at parameter at.
func rawSet(raw, provider, at int) string {
	return fmt.Sprintf(`raw = $%[1]d, raw_provider = $%[2]d, raw_updated_at = CASE WHEN raw = $%[1]d THEN raw_updated_at ELSE $%[3]d END`, raw, provider, at)
}

// rawScan receives the three columns, selected last.
type rawScan struct {
	raw, provider sql.NullString
	at            sql.NullInt64
}

func (r *rawScan) dest() []any { return []any{&r.raw, &r.provider, &r.at} }

func (r *rawScan) into(raw *json.RawMessage, provider *string, at *time.Time) {
	if !r.raw.Valid {
		return
	}
	*raw, *provider = json.RawMessage(r.raw.String), r.provider.String
	if r.at.Valid {
		*at = fromMicros(r.at.Int64)
	}
}

// rawRow is a payload for an existing row of a financial account, by
// provider transaction id.
type rawRow struct {
	providerID string
	raw        json.RawMessage
}

// rawBatch bounds rows per refreshRaw statement (2 parameters a row).
const rawBatch = 500

// refreshRaw stores new payloads on existing rows of table (transactions
// or investment_transactions) whose other data did not change, so were
// not updated otherwise: one statement per rawBatch rows, never one per
// row. The caller passes only payloads that differ from the stored ones.
func refreshRaw(ctx context.Context, tx *sql.Tx, table, accountID, provider string, rows []rawRow, at time.Time) error {
	for start := 0; start < len(rows); start += rawBatch {
		batch := rows[start:min(start+rawBatch, len(rows))]
		args := make([]any, 0, 3+2*len(batch))
		args = append(args, accountID, provider, micros(at))
		var sb strings.Builder
		// Both databases name a VALUES list's columns column1, column2.
		sb.WriteString(`UPDATE ` + table + ` SET raw = v.column2, raw_provider = $2, raw_updated_at = $3 FROM (VALUES `)
		for i, r := range batch {
			if i > 0 {
				sb.WriteString(", ")
			}
			fmt.Fprintf(&sb, "($%d, $%d)", len(args)+1, len(args)+2)
			args = append(args, r.providerID, rawText(r.raw))
		}
		fmt.Fprintf(&sb, `) AS v WHERE %[1]s.financial_account_id = $1 AND %[1]s.provider_transaction_id = v.column1`, table)
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return fmt.Errorf("refresh %s payloads: %w", table, err)
		}
	}
	return nil
}
