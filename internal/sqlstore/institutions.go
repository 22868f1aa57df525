package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"banklink"
)

// institutionBatch bounds rows per multi-row INSERT: large enough that a
// 20,000-institution directory loads in well under a second, small enough
// to stay below SQLite's and PostgreSQL's bind-parameter limits.
const institutionBatch = 500

// UpsertInstitutions implements banklink.InstitutionStore.
func (db *DB) UpsertInstitutions(ctx context.Context, list []*banklink.Institution) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(list); start += institutionBatch {
			batch := list[start:min(start+institutionBatch, len(list))]
			var sb strings.Builder
			sb.WriteString(`INSERT INTO institutions (id, name, rank, is_test, data) VALUES `)
			args := make([]any, 0, len(batch)*5)
			for i, in := range batch {
				if i > 0 {
					sb.WriteString(", ")
				}
				n := len(args)
				fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5)
				data, err := json.Marshal(in)
				if err != nil {
					return fmt.Errorf("encode institution %s: %w", in.ID, err)
				}
				args = append(args, in.ID, in.Name, in.Rank, in.IsTest, string(data))
			}
			sb.WriteString(` ON CONFLICT (id) DO UPDATE SET name = excluded.name, rank = excluded.rank, is_test = excluded.is_test, data = excluded.data`)
			if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
				return fmt.Errorf("upsert institutions: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE directory_version SET version = version + 1 WHERE id = 1`); err != nil {
			return fmt.Errorf("bump directory version: %w", err)
		}
		return nil
	})
}

func decodeInstitution(data string) (*banklink.Institution, error) {
	var in banklink.Institution
	if err := json.Unmarshal([]byte(data), &in); err != nil {
		return nil, fmt.Errorf("decode institution: %w", err)
	}
	return &in, nil
}

// FindInstitutionByID implements banklink.InstitutionStore.
func (db *DB) FindInstitutionByID(ctx context.Context, id string) (*banklink.Institution, error) {
	var data string
	err := db.r.QueryRowContext(ctx, `SELECT data FROM institutions WHERE id = $1`, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, banklink.Errorf(banklink.ENOTFOUND, "Institution %s not found.", id)
	}
	if err != nil {
		return nil, fmt.Errorf("find institution %q: %w", id, err)
	}
	return decodeInstitution(data)
}

// FindInstitutions implements banklink.InstitutionStore.
func (db *DB) FindInstitutions(ctx context.Context) ([]*banklink.Institution, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT data FROM institutions ORDER BY rank, name, id`)
	if err != nil {
		return nil, fmt.Errorf("find institutions: %w", err)
	}
	defer rows.Close()
	var out []*banklink.Institution
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, fmt.Errorf("find institutions: %w", err)
		}
		in, err := decodeInstitution(data)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// InstitutionsVersion implements banklink.InstitutionStore.
func (db *DB) InstitutionsVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := db.r.QueryRowContext(ctx, `SELECT version FROM directory_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("directory version: %w", err)
	}
	return v, nil
}
