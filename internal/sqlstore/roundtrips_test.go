package sqlstore_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"banklink"
	"banklink/internal/sqlstore"
	"banklink/internal/storetest"
	"banklink/internal/testenv"
	"banklink/webhook"

	"github.com/jackc/pgx/v5"
)

// statements counts the round trips to PostgreSQL: each statement sent
// alone, and each pipelined batch (one entry, its statements joined by
// "; ").
type statements struct {
	mu   sync.Mutex
	sent []string
}

func (s *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, strings.Join(strings.Fields(d.SQL), " "))
	return ctx
}

func (s *statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (s *statements) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	var sqls []string
	for _, q := range d.Batch.QueuedQueries {
		sqls = append(sqls, strings.Join(strings.Fields(q.SQL), " "))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, strings.Join(sqls, "; "))
	return ctx
}

func (s *statements) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (s *statements) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// during returns the statements fn sent.
func (s *statements) during(fn func()) []string {
	s.mu.Lock()
	s.sent = nil
	s.mu.Unlock()
	fn()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent
}

// On PostgreSQL every statement is a round trip, and on a busy machine a
// round trip cost as much as the commit's WAL flush (docs/benchmarks.md,
// issue 21): the hot paths make one round trip each, whatever the batch.
func TestPostgresHotPathsOneStatement(t *testing.T) {
	tr := &statements{}
	db, err := sqlstore.Open(context.Background(), testenv.PostgresDSN(t), sqlstore.Options{Migrate: true, Tracer: tr})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	a := storetest.MustAccount(t, db, "Acme")
	scope := banklink.Scope{AccountID: a.ID, Environment: banklink.Sandbox}
	inst := &banklink.Institution{ID: banklink.NewID(), Name: "Fidelity", Rank: 1, Regions: []banklink.Region{"US"}}
	if err := db.UpsertInstitutions(ctx, []*banklink.Institution{inst}); err != nil {
		t.Fatal(err)
	}
	p := &banklink.WebhookProfile{ID: banklink.NewID(), AccountID: a.ID, Environment: banklink.Sandbox, URL: "https://example.com/hooks",
		Version: "2022-11-10", Enabled: true, Secret: banklink.NewWebhookSecret()}
	if err := db.CreateWebhookProfile(ctx, p); err != nil {
		t.Fatal(err)
	}
	var events []*banklink.Event
	for _, c := range []string{"c1", "c2", "c3"} {
		events = append(events, banklink.NewEvent(ctx, webhook.AccountsUpdated, webhook.Payload{ConnectionID: c}))
	}
	if err := db.EmitEvents(ctx, scope, events...); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var claimed []*banklink.Delivery
	linking := storetest.NewConnection(scope)
	if err := db.StartConnection(ctx, storetest.NewCustomer(scope, "linking"), linking); err != nil {
		t.Fatal(err)
	}
	sess := &banklink.ConnectSession{ConnectionID: linking.ID, Step: banklink.StepCredentials, InstitutionID: inst.ID, ProviderType: "sandbox"}

	for _, tc := range []struct {
		name string
		do   func(t *testing.T)
	}{
		{"connect/start, new customer", func(t *testing.T) {
			if err := db.StartConnection(ctx, storetest.NewCustomer(scope, "new"), storetest.NewConnection(scope)); err != nil {
				t.Fatal(err)
			}
		}},
		{"connect/start, returning customer, with an institution", func(t *testing.T) {
			conn := storetest.NewConnection(scope)
			conn.InstitutionID = inst.ID
			if err := db.StartConnection(ctx, storetest.NewCustomer(scope, "new"), conn); err != nil {
				t.Fatal(err)
			}
			if conn.InstitutionName != "Fidelity" {
				t.Errorf("institution name %q", conn.InstitutionName)
			}
		}},
		{"connect/start, unknown institution", func(t *testing.T) {
			conn := storetest.NewConnection(scope)
			conn.InstitutionID = "nope"
			if err := db.StartConnection(ctx, storetest.NewCustomer(scope, "other"), conn); banklink.ErrorCode(err) != banklink.ENOTFOUND {
				t.Fatalf("err %v, want ENOTFOUND", err)
			}
		}},
		{"a widget step saves its session", func(t *testing.T) {
			if err := db.SaveConnectSession(ctx, sess); err != nil {
				t.Fatal(err)
			}
		}},
		{"a session read before another save is refused", func(t *testing.T) {
			stale := *sess
			stale.Version--
			if err := db.SaveConnectSession(ctx, &stale); banklink.ErrorCode(err) != banklink.ECONFLICT {
				t.Fatalf("err %v, want ECONFLICT", err)
			}
		}},
		{"provider health at an institution", func(t *testing.T) {
			if _, _, err := db.ProviderFailures(ctx, "sandbox", inst.ID, now.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
		}},
		{"claim deliveries", func(t *testing.T) {
			var err error
			if claimed, err = db.ClaimDeliveries(ctx, "w", now, now.Add(time.Minute), 10); err != nil || len(claimed) != 3 {
				t.Fatalf("claimed %d, err %v; want 3", len(claimed), err)
			}
		}},
		{"record three attempts", func(t *testing.T) {
			out := map[string]banklink.DeliveryOutcome{}
			for _, d := range claimed {
				out[d.ID] = banklink.DeliveryOutcome{Attempt: banklink.DeliveryAttempt{Attempt: 1, At: now, URL: p.URL, StatusCode: 200}, Delivered: true}
			}
			if lost, err := db.FinishDeliveries(ctx, "w", out); err != nil || len(lost) != 0 {
				t.Fatalf("lost %v, err %v", lost, err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sent := tr.during(func() { tc.do(t) })
			if len(sent) != 1 {
				t.Errorf("%d round trips, want 1:\n%s", len(sent), strings.Join(sent, "\n"))
			}
		})
	}
	// The unknown institution wrote nothing: no customer "other".
	if list, _, err := db.FindCustomers(ctx, scope, banklink.CustomerFilter{ExternalID: "other"}); err != nil || len(list) != 0 {
		t.Errorf("customers %v, err %v: a failed start left its customer", list, err)
	}
}
