package httpapi_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"banklink"
	"banklink/internal/httpapi"
	"banklink/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// TestDatabaseOutage: when PostgreSQL goes away under a running server,
// requests get 503 SERVICE_UNAVAILABLE with Retry-After in the error
// format, not 500 INTERNAL_ERROR. Two real outages: the server's port
// closes (connections refused, open ones cut), and the database
// terminates every backend and refuses new ones (SQLSTATE 57P01, then
// 55000 at connect).
func TestDatabaseOutage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		outage func(t *testing.T) (dsn string, fail func())
	}{
		{"port closed", func(t *testing.T) (string, func()) {
			return testenv.CuttablePostgres(t)
		}},
		{"backends terminated", func(t *testing.T) (string, func()) {
			dsn := testenv.PostgresDSN(t)
			cfg, err := pgx.ParseConfig(dsn)
			if err != nil {
				t.Fatal(err)
			}
			name := cfg.Database
			return dsn, func() {
				ctx := context.Background()
				cfg.Database = "postgres"
				admin, err := pgx.ConnectConfig(ctx, cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer admin.Close(ctx)
				for _, q := range []string{
					`ALTER DATABASE "` + name + `" ALLOW_CONNECTIONS false`,
					`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '` + name + `'`,
				} {
					if _, err := admin.Exec(ctx, q); err != nil {
						t.Fatal(err)
					}
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn, fail := tc.outage(t)
			ts := newTestServerOn(t, dsn)
			k, fresh := banklink.NewAPIKey(ts.account.ID, banklink.Sandbox, "fresh", httpapi.LatestVersion, ts.api.Now())
			if err := ts.store.CreateAPIKey(context.Background(), k); err != nil {
				t.Fatal(err)
			}
			if r := ts.do(call{method: "GET", path: "/bank-linking/connections"}); r.status != 200 {
				t.Fatalf("before the outage: %d %s", r.status, r.body)
			}
			fail()
			for _, c := range []call{
				{method: "GET", path: "/bank-linking/connections"},
				{method: "GET", path: "/bank-linking/connections/8RkCXgAFzBuC3f7mQ9jY2W"},
				{method: "GET", path: "/bank-linking/transactions?limit=5"},
				{path: "/bank-linking/connect/start", body: `{"externalCustomerId":"c"}`},
				{path: "/accounts/customers", body: `{"externalId":"c"}`, headers: map[string]string{"Idempotency-Key": "k-1"}},
				// A key this replica has not cached needs the database to
				// authenticate.
				{method: "GET", path: "/webhooks/profiles", key: fresh},
			} {
				r := ts.do(c)
				if r.status != http.StatusServiceUnavailable {
					t.Errorf("%s %s: %d %s, want 503", c.method, c.path, r.status, r.body)
					continue
				}
				if e := r.errorBody(t); e.Code != banklink.EUNAVAILABLE || !strings.Contains(e.Message, "unavailable") {
					t.Errorf("%s %s: error %+v", c.method, c.path, e)
				}
				if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
					t.Errorf("%s %s: Retry-After %q", c.method, c.path, r.header.Get("Retry-After"))
				}
			}
		})
	}
}
