package wiringtest

import (
	"database/sql"
	"testing"
)

// rawCredentials reads the stored credential bytes straight from the
// SQLite file.
func (st *Stack) RawCredentials(t *testing.T) []byte {
	t.Helper()
	db, err := sql.Open("sqlite", st.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var raw []byte
	if err := db.QueryRow(`SELECT credentials FROM provider_configs WHERE provider_type = 'sandbox-b'`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	return raw
}
