package sqlstore

import (
	"context"
	"strings"
	"testing"

	"banklink"
	"banklink/internal/storetest"
	"banklink/internal/testenv"
	"banklink/webhook"
)

// TestPostgresClaimWalksTheDueIndex: after a burst the planner's
// statistics still say "few pending" (the table was analysed nearly
// empty), and left to itself it reads and sorts every pending delivery
// for each claim. claimPG's transaction turns sorting off, so the claim
// walks webhook_deliveries_due and stops at its limit.
func TestPostgresClaimWalksTheDueIndex(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, testenv.PostgresDSN(t), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a := storetest.MustAccount(t, db, "Acme")
	scope := banklink.Scope{AccountID: a.ID, Environment: banklink.Sandbox}
	p := &banklink.WebhookProfile{ID: banklink.NewID(), AccountID: a.ID, Environment: banklink.Sandbox, URL: "https://example.com/hooks",
		Version: "2022-11-10", Enabled: true, Secret: banklink.NewWebhookSecret()}
	if err := db.CreateWebhookProfile(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, `ANALYZE webhook_deliveries`); err != nil {
		t.Fatal(err)
	}
	var events []*banklink.Event
	for i := range 3000 {
		events = append(events, banklink.NewEvent(context.Background(), webhook.AccountsUpdated, webhook.Payload{ConnectionID: string(rune('A' + i%64))}))
	}
	if err := db.EmitEvents(ctx, scope, events...); err != nil {
		t.Fatal(err)
	}
	plan := func(setting string) string {
		tx, err := db.pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if setting != "" {
			if _, err := tx.Exec(ctx, setting); err != nil {
				t.Fatal(err)
			}
		}
		rows, err := tx.Query(ctx, `EXPLAIN `+pgClaimSQL, micros(db.now()), "w", micros(db.now()), 32)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var lines []string
		for rows.Next() {
			var l string
			if err := rows.Scan(&l); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, strings.TrimSpace(l))
		}
		return strings.Join(lines, "\n")
	}
	t.Logf("plan with the planner's own choice:\n%s", plan(""))
	got := plan(pgClaimPlan)
	if !strings.Contains(got, "Index Scan using webhook_deliveries_due on webhook_deliveries w") || strings.Contains(got, "Bitmap Heap Scan on webhook_deliveries w") {
		t.Errorf("the claim does not walk webhook_deliveries_due:\n%s", got)
	}
}
