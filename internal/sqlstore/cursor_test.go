package sqlstore

import (
	"crypto/cipher"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/testenv"
)

// TestCursorKeysSurviveRestartsAndReplicas: a key is made from a secret
// the database keeps, so it stays valid after a restart (SQLite) and is
// the same on every replica sharing the database (PostgreSQL).
func TestCursorKeysSurviveRestartsAndReplicas(t *testing.T) {
	for _, tc := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "b.db") }},
		{"postgres", func(t *testing.T) string { return testenv.PostgresDSN(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			dsn := tc.dsn(t)
			first, err := Open(ctx, dsn, Options{Migrate: true})
			if err != nil {
				t.Fatal(err)
			}
			acct := &banklink.Account{ID: banklink.NewID(), Name: "A"}
			if err := first.CreateAccount(ctx, acct); err != nil {
				t.Fatal(err)
			}
			scope := banklink.Scope{AccountID: acct.ID, Environment: banklink.Sandbox}
			var conns []*banklink.Connection
			for range 2 {
				c := &banklink.Connection{ID: banklink.NewID(), AccountID: acct.ID, Environment: banklink.Sandbox, Status: banklink.StatusInProgress}
				if err := first.StartConnection(ctx, &banklink.Customer{ID: banklink.NewID(), AccountID: acct.ID, Environment: banklink.Sandbox, ExternalID: "c"}, c); err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
			}
			if tc.name == "sqlite" {
				first.Close() // a restart
			} else {
				defer first.Close() // a second replica beside the first
			}
			second, err := Open(ctx, dsn, Options{Migrate: true})
			if err != nil {
				t.Fatal(err)
			}
			defer second.Close()
			got, err := second.FindConnectionByID(ctx, scope, conns[0].ID)
			if err != nil || got.Key != conns[0].Key {
				t.Fatalf("key after reopening = %v %v, was %s", got, err, conns[0].Key)
			}
			page, _, err := second.FindConnections(ctx, scope, banklink.ConnectionFilter{Limit: 5, After: conns[0].Key})
			if err != nil || len(page) != 1 || page[0].ID != conns[1].ID {
				t.Fatalf("page after a key made before reopening: %v %v", page, err)
			}
		})
	}
}

// TestCursorKeyFormat: keys are 22 base58 characters; what is not a key
// this tenant was given is refused without a panic.
func TestCursorKeyFormat(t *testing.T) {
	k := &cursorKeys{secret: []byte("0123456789abcdef0123456789abcdef"), blocks: map[tenant]cipher.Block{}}
	scope := banklink.Scope{AccountID: "acct", Environment: banklink.Sandbox}
	for _, seq := range []int64{1, 2, 1 << 40, 1<<63 - 1} {
		key := k.seqKey(scope.AccountID, string(scope.Environment), seq)
		if len(key) != cursorKeyLen || !banklink.IsBase58(key) {
			t.Errorf("seqKey(%d) = %q", seq, key)
		}
		if got, err := k.parseSeq(scope, "after", key); err != nil || got != seq {
			t.Errorf("parseSeq(seqKey(%d)) = %d, %v", seq, got, err)
		}
	}
	for _, day := range []int64{-400, 0, 20454, 1 << 20} {
		key := k.dayKey(scope.AccountID, string(scope.Environment), day, 7)
		if a, d, s, err := k.parseTx(scope, "after", key); err != nil || a != 0 || d != day || s != 7 {
			t.Errorf("parseTx(dayKey(%d, 7)) = %d, %d, %d, %v", day, a, d, s, err)
		}
	}
	seq := k.seqKey(scope.AccountID, string(scope.Environment), 5)
	for _, bad := range []string{"", "1", "11111111112", strings.Repeat("1", 22), strings.Repeat("z", 22), strings.Repeat("z", 23),
		seq[:21] + "0", seq[:21] + "I", seq + "1", "\x00" + seq[1:], k.dayKey(scope.AccountID, string(scope.Environment), 3, 5),
		k.seqKey(scope.AccountID, string(banklink.Production), 5), k.seqKey("other", string(scope.Environment), 5)} {
		if _, err := k.parseSeq(scope, "after", bad); banklink.ErrorCode(err) != banklink.EBADREQUEST {
			t.Errorf("parseSeq(%q) = %v, want BAD_REQUEST", bad, err)
		}
	}
	if _, _, _, err := k.parseTx(scope, "before", seq); banklink.ErrorCode(err) != banklink.EBADREQUEST {
		t.Errorf("a sequence key was taken as a day key: %v", err)
	}
	for _, tc := range []struct {
		name                 string
		accountSeq, day, seq int64
		wantAccount, wantSeq int64
	}{
		{"small", 1, 0, 1, 1, 1},
		{"before 1970", 7, -400, 12, 7, 12},
		{"beyond every record", 9, 20454, 1<<63 - 1, 9, 1<<63 - 1},
		{"largest sequence", 1<<32 - 1, 1 << 20, 1<<48 - 2, 1<<32 - 1, 1<<48 - 2},
		// Beyond what the key holds: the older form, without the account.
		{"account beyond 32 bits", 1 << 32, 5, 6, 0, 6},
		{"sequence beyond 48 bits", 3, 5, 1 << 48, 0, 1 << 48},
	} {
		key := k.txKey(scope.AccountID, string(scope.Environment), tc.accountSeq, tc.day, tc.seq)
		a, d, s, err := k.parseTx(scope, "after", key)
		if err != nil || a != tc.wantAccount || d != tc.day || s != tc.wantSeq || len(key) != cursorKeyLen {
			t.Errorf("%s: parseTx(txKey(%d, %d, %d)) = %d, %d, %d, %v", tc.name, tc.accountSeq, tc.day, tc.seq, a, d, s, err)
		}
	}
	for _, bad := range []string{seq, k.txKey("other", string(scope.Environment), 1, 2, 3), strings.Repeat("z", 22)} {
		if _, _, _, err := k.parseTx(scope, "after", bad); banklink.ErrorCode(err) != banklink.EBADREQUEST {
			t.Errorf("parseTx(%q) = %v, want BAD_REQUEST", bad, err)
		}
	}
}

// TestOlderTransactionKeys: transaction keys handed out before they
// carried the account (day keys) still page the tenant-wide list, which
// looks their row up; one whose row is gone is a 400 naming the cursor.
func TestOlderTransactionKeys(t *testing.T) {
	ctx := t.Context()
	db := planDB(t)
	acct := &banklink.Account{ID: banklink.NewID(), Name: "A"}
	if err := db.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	scope := banklink.Scope{AccountID: acct.ID, Environment: banklink.Sandbox}
	c := &banklink.Connection{ID: banklink.NewID(), AccountID: acct.ID, Environment: banklink.Sandbox, Status: banklink.StatusInProgress}
	if err := db.StartConnection(ctx, &banklink.Customer{ID: banklink.NewID(), AccountID: acct.ID, Environment: banklink.Sandbox, ExternalID: "c"}, c); err != nil {
		t.Fatal(err)
	}
	var txs []banklink.Transaction
	for i := range 6 {
		txs = append(txs, banklink.Transaction{ProviderTransactionID: fmt.Sprint("t", i), Amount: 1, Currency: "USD", Description: "x",
			TransactionDate: fmt.Sprintf("2026-01-%02d", i+1), Status: banklink.TxPosted, Category: "OTHER", Recurring: banklink.RecurringNo})
	}
	for _, id := range []string{"a", "b"} {
		if _, err := db.SaveAggregation(ctx, scope, c.ID, []banklink.AggregatedAccount{{ProviderAccountID: id, Type: "DEPOSITORY", Subtype: "CHECKING", Name: id, Mask: "1",
			Transactions: txs}}, false, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	all, _, err := db.FindTransactions(ctx, scope, banklink.TransactionFilter{Limit: 100})
	if err != nil || len(all) != 12 {
		t.Fatalf("%d transactions, %v", len(all), err)
	}
	older := func(x *banklink.Transaction) string {
		_, day, seq, err := db.keys.parseTx(scope, "key", x.Key)
		if err != nil {
			t.Fatal(err)
		}
		return db.keys.dayKey(scope.AccountID, string(scope.Environment), day, seq)
	}
	got, _, err := db.FindTransactions(ctx, scope, banklink.TransactionFilter{Limit: 100, After: older(all[4])})
	if err != nil || len(got) != 7 || got[0].ID != all[5].ID || got[1].ID != all[6].ID {
		t.Errorf("after an older key: %d transactions from %v, %v; want the 7 from %s", len(got), got, err, all[5].ID)
	}
	got, _, err = db.FindTransactions(ctx, scope, banklink.TransactionFilter{Limit: 2, Before: older(all[7])})
	if err != nil || len(got) != 2 || got[0].ID != all[5].ID || got[1].ID != all[6].ID {
		t.Errorf("before an older key: %v, %v", got, err)
	}
	gone := db.keys.dayKey(scope.AccountID, string(scope.Environment), 20000, 1<<40)
	if _, _, err := db.FindTransactions(ctx, scope, banklink.TransactionFilter{Limit: 2, After: gone}); banklink.ErrorCode(err) != banklink.EBADREQUEST || !strings.Contains(err.Error(), "no longer exists") {
		t.Errorf("after the older key of no transaction: %v, want BAD_REQUEST naming it", err)
	}
}

func BenchmarkCursorKey(b *testing.B) {
	k := &cursorKeys{secret: make([]byte, 32), blocks: map[tenant]cipher.Block{}}
	scope := banklink.Scope{AccountID: "acct", Environment: banklink.Sandbox}
	b.Run("encode", func(b *testing.B) {
		for i := range b.N {
			k.txKey(scope.AccountID, string(scope.Environment), 77, 20000, int64(i+1))
		}
	})
	key := k.txKey(scope.AccountID, string(scope.Environment), 77, 20000, 12345)
	b.Run("parse", func(b *testing.B) {
		for range b.N {
			k.parseTx(scope, "after", key)
		}
	})
}
