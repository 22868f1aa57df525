package webhooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"banklink"
	"banklink/internal/sqlstore"
	"banklink/internal/testenv"
	"banklink/internal/webhooks"
	"banklink/internal/webhookurl"
	"banklink/webhook"
)

// receiver is a real HTTP server that records what it is sent and
// answers with the status its script gives for each request.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	script func(n int) int // status of the n-th request (0-based)
}

type received struct {
	header http.Header
	body   []byte
	env    webhook.Envelope
}

func newReceiver(t *testing.T, script func(n int) int) *receiver {
	r := &receiver{script: script}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var env webhook.Envelope
		json.Unmarshal(body, &env)
		r.mu.Lock()
		n := len(r.got)
		r.got = append(r.got, received{header: req.Header.Clone(), body: body, env: env})
		r.mu.Unlock()
		status := 200
		if r.script != nil {
			status = r.script(n)
		}
		w.WriteHeader(status)
		io.WriteString(w, "ok from receiver")
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// clock is an injected time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

type fixture struct {
	store   *sqlstore.DB
	scope   banklink.Scope
	profile *banklink.WebhookProfile
	clock   *clock
	d       *webhooks.Deliverer
}

func openStore(t testing.TB, dialect string) *sqlstore.DB {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "banklink.db")
	if dialect == "postgres" {
		dsn = testenv.PostgresDSN(t)
	}
	db, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// local lets sandbox deliveries reach the tests' loopback receivers, as
// -webhook-private-targets sandbox does on a development machine.
var local = webhooks.Config{Private: webhookurl.PrivateSandbox}

func newFixture(t *testing.T, url string, cfg webhooks.Config) *fixture {
	return newFixtureOn(t, "sqlite", url, cfg)
}

func newFixtureOn(t testing.TB, dialect, url string, cfg webhooks.Config) *fixture {
	t.Helper()
	ctx := context.Background()
	db := openStore(t, dialect)
	acct := &banklink.Account{ID: banklink.NewID(), Name: "Acme"}
	if err := db.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	scope := banklink.Scope{AccountID: acct.ID, Environment: banklink.Sandbox}
	p := &banklink.WebhookProfile{ID: banklink.NewID(), AccountID: acct.ID, Environment: banklink.Sandbox, URL: url,
		Version: "2022-11-10", Enabled: true, Secret: banklink.NewWebhookSecret()}
	if err := db.CreateWebhookProfile(ctx, p); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	db.Now = c.Now
	d := webhooks.New(db, cfg, nil)
	d.Now = c.Now
	return &fixture{store: db, scope: scope, profile: p, clock: c, d: d}
}

func (f *fixture) emit(t *testing.T, typ webhook.EventType, connectionID string) *banklink.Event {
	t.Helper()
	e := banklink.NewEvent(t.Context(), typ, webhook.Payload{ConnectionID: connectionID})
	if err := f.store.EmitEvents(t.Context(), f.scope, e); err != nil {
		t.Fatal(err)
	}
	return e
}

func (f *fixture) deliveries(t *testing.T, eventID string) []*banklink.Delivery {
	t.Helper()
	ds, err := f.store.FindDeliveries(t.Context(), f.scope, eventID)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestSignedDelivery(t *testing.T) {
	rcv := newReceiver(t, nil)
	f := newFixture(t, rcv.URL+"/hooks?src=banklink", local)
	e := f.emit(t, webhook.ConnectionCompleted, "conn-1")
	if n, err := f.d.DeliverDue(t.Context()); err != nil || n != 1 {
		t.Fatalf("DeliverDue = %d, %v", n, err)
	}
	got := rcv.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests", len(got))
	}
	r := got[0]
	// The receiver verifies with the public helper, against the exact
	// configured URL and raw body.
	err := webhook.Verify([]string{f.profile.Secret}, r.header.Get("Meld-Signature"), r.header.Get("Meld-Signature-Timestamp"),
		f.profile.URL, r.body, webhook.Options{Now: f.clock.Now})
	if err != nil {
		t.Fatalf("signature: %v", err)
	}
	if r.env.EventID != e.ID || r.env.EventType != webhook.ConnectionCompleted || r.env.ProfileID == nil || *r.env.ProfileID != f.profile.ID ||
		r.env.Version != "2022-11-10" || r.env.AccountID != f.scope.AccountID || r.env.Timestamp != "2026-11-24T12:00:00.000000Z" {
		t.Errorf("envelope = %+v", r.env)
	}
	if r.header.Get("Meld-Retry-Count") != "" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("headers = %v", r.header)
	}
	ds := f.deliveries(t, e.ID)
	if len(ds) != 1 || ds[0].State != banklink.DeliveryDelivered || len(ds[0].AttemptLog) != 1 ||
		ds[0].AttemptLog[0].StatusCode != 200 || ds[0].AttemptLog[0].Response != webhooks.InternalResponse {
		t.Errorf("delivery = %+v", ds[0])
	}
}

func TestRetrySchedule(t *testing.T) {
	// The receiver fails three times, then accepts.
	rcv := newReceiver(t, func(n int) int {
		if n < 3 {
			return 503
		}
		return 200
	})
	f := newFixture(t, rcv.URL, local)
	e := f.emit(t, webhook.AccountsUpdated, "conn-1")
	start := f.clock.Now()
	steps := []struct {
		name    string
		at      time.Duration // since start
		attempt bool
	}{
		{"first attempt", 0, true},
		{"not yet due", 59 * time.Second, false},
		{"first retry after a minute", time.Minute, true},
		{"second retry two minutes later", 3 * time.Minute, true},
		{"third retry four minutes later", 7 * time.Minute, true},
		{"delivered: nothing more", 8 * time.Hour, false},
	}
	for _, s := range steps {
		f.clock.Set(start.Add(s.at))
		n, err := f.d.DeliverDue(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if (n == 1) != s.attempt {
			t.Fatalf("%s: %d attempts", s.name, n)
		}
	}
	got := rcv.requests()
	if len(got) != 4 {
		t.Fatalf("receiver got %d requests", len(got))
	}
	for i, r := range got {
		count, reason := r.header.Get("Meld-Retry-Count"), r.header.Get("Meld-Retry-Reason")
		if i == 0 && (count != "" || reason != "") {
			t.Errorf("first attempt has retry headers %q %q", count, reason)
		}
		if i > 0 && (count != string(rune('0'+i)) || reason != "HTTP error: 503") {
			t.Errorf("attempt %d: Meld-Retry-Count %q, Meld-Retry-Reason %q", i+1, count, reason)
		}
		if r.env.EventID != e.ID {
			t.Errorf("attempt %d carried event %s", i+1, r.env.EventID)
		}
	}
	ds := f.deliveries(t, e.ID)
	if ds[0].State != banklink.DeliveryDelivered || len(ds[0].AttemptLog) != 4 {
		t.Fatalf("delivery = %+v", ds[0])
	}
	for i, want := range []time.Duration{0, time.Minute, 3 * time.Minute, 7 * time.Minute} {
		if a := ds[0].AttemptLog[i]; !a.At.Equal(start.Add(want)) {
			t.Errorf("attempt %d at %s, want %s", i+1, a.At, start.Add(want))
		}
	}
}

func TestGiveUpAfterThreeDays(t *testing.T) {
	rcv := newReceiver(t, func(int) int { return 500 })
	f := newFixture(t, rcv.URL, local)
	e := f.emit(t, webhook.AccountsUpdated, "conn-1")
	start := f.clock.Now()
	for range 200 {
		ds := f.deliveries(t, e.ID)
		if ds[0].State != banklink.DeliveryPending {
			break
		}
		f.clock.Set(*ds[0].NextAttemptAt)
		if _, err := f.d.DeliverDue(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	ds := f.deliveries(t, e.ID)
	last := ds[0].AttemptLog[len(ds[0].AttemptLog)-1]
	if ds[0].State != banklink.DeliveryFailed || last.At.Sub(start) > webhooks.RetryFor || last.At.Sub(start) < webhooks.RetryFor-time.Hour {
		t.Fatalf("delivery %s after %d attempts, last at +%s", ds[0].State, len(ds[0].AttemptLog), last.At.Sub(start))
	}
	// 1, 2, 4 ... 32 minutes, then hourly.
	for i := 1; i < len(ds[0].AttemptLog); i++ {
		gap := ds[0].AttemptLog[i].At.Sub(ds[0].AttemptLog[i-1].At)
		if want := webhooks.RetryDelay(i); gap != want {
			t.Fatalf("gap before attempt %d = %s, want %s", i+1, gap, want)
		}
	}
	if len(rcv.requests()) != len(ds[0].AttemptLog) {
		t.Errorf("receiver saw %d requests, log has %d", len(rcv.requests()), len(ds[0].AttemptLog))
	}
}

func TestRetryDelay(t *testing.T) {
	for _, tt := range []struct {
		n    int
		want time.Duration
	}{{1, time.Minute}, {2, 2 * time.Minute}, {3, 4 * time.Minute}, {6, 32 * time.Minute}, {7, time.Hour}, {8, time.Hour}, {500, time.Hour}} {
		if got := webhooks.RetryDelay(tt.n); got != tt.want {
			t.Errorf("RetryDelay(%d) = %s, want %s", tt.n, got, tt.want)
		}
	}
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if webhooks.NextAttempt(first, first.Add(71*time.Hour), 80) == nil {
		t.Error("gave up before three days")
	}
	if webhooks.NextAttempt(first, first.Add(71*time.Hour+30*time.Minute), 80) != nil {
		t.Error("scheduled past three days")
	}
}

func TestRotationOverlap(t *testing.T) {
	rcv := newReceiver(t, nil)
	f := newFixture(t, rcv.URL, local)
	old := f.profile.Secret
	exp := f.clock.Now().Add(time.Hour)
	f.profile.PreviousSecret, f.profile.PreviousSecretExpiresAt, f.profile.Secret = old, &exp, banklink.NewWebhookSecret()
	if err := f.store.UpdateWebhookProfile(t.Context(), f.profile); err != nil {
		t.Fatal(err)
	}
	f.emit(t, webhook.Test, "")
	f.d.DeliverDue(t.Context())
	f.clock.Set(exp)
	f.emit(t, webhook.Test, "")
	f.d.DeliverDue(t.Context())
	got := rcv.requests()
	if len(got) != 2 {
		t.Fatalf("receiver got %d", len(got))
	}
	verify := func(r received, secret string) error {
		return webhook.Verify([]string{secret}, r.header.Get("Meld-Signature"), r.header.Get("Meld-Signature-Timestamp"), f.profile.URL, r.body,
			webhook.Options{Tolerance: -1})
	}
	for _, tt := range []struct {
		name    string
		r       received
		secret  string
		wantErr bool
	}{
		{"during overlap, new secret", got[0], f.profile.Secret, false},
		{"during overlap, old secret", got[0], old, false},
		{"after overlap, new secret", got[1], f.profile.Secret, false},
		{"after overlap, old secret", got[1], old, true},
	} {
		if err := verify(tt.r, tt.secret); (err != nil) != tt.wantErr {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	if sigs := strings.Split(got[0].header.Get("Meld-Signature"), ", "); len(sigs) != 2 {
		t.Errorf("overlap header %q", got[0].header.Get("Meld-Signature"))
	}
	if strings.Contains(got[1].header.Get("Meld-Signature"), ",") {
		t.Errorf("after overlap header %q", got[1].header.Get("Meld-Signature"))
	}
}

func TestRedelivery(t *testing.T) {
	rcv := newReceiver(t, nil)
	f := newFixture(t, rcv.URL, local)
	e := f.emit(t, webhook.ConnectionDeleted, "conn-1")
	f.d.DeliverDue(t.Context())
	if _, err := f.store.Redeliver(t.Context(), f.scope, e.ID, "", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	f.d.DeliverDue(t.Context())
	got := rcv.requests()
	if len(got) != 2 || got[0].env.EventID != e.ID || got[1].env.EventID != e.ID || got[0].env.Timestamp != got[1].env.Timestamp {
		t.Fatalf("receiver got %d requests: %+v", len(got), got)
	}
	if ds := f.deliveries(t, e.ID); len(ds) != 2 || ds[0].State != banklink.DeliveryDelivered || ds[1].State != banklink.DeliveryDelivered {
		t.Errorf("deliveries = %+v", ds)
	}
}

func TestGuards(t *testing.T) {
	redirectTarget := newReceiver(t, nil)
	redirect := httptest.NewServer(http.RedirectHandler(redirectTarget.URL, http.StatusFound))
	t.Cleanup(redirect.Close)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(time.Second):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := strings.Repeat("x", 1<<16)
		for range 1 << 10 { // 64 MiB if anyone read it all
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(huge.Close)
	ok := newReceiver(t, nil)
	sandbox := webhookurl.PrivateSandbox
	const blocked = "blocked: the target is a loopback, private or link-local address (see -webhook-private-targets)"
	for _, tt := range []struct {
		name       string
		url        string
		cfg        webhooks.Config
		wantReason string
		wantStatus int
		// wantResponse is what the attempt log shows: never an internal
		// receiver's body, an internal address or why a connection failed.
		wantResponse string
	}{
		{"redirect is not followed", redirect.URL, webhooks.Config{Private: sandbox}, "HTTP error: 302", 302, webhooks.InternalResponse},
		{"timeout is one reason with private targets", slow.URL, webhooks.Config{Timeout: 200 * time.Millisecond, Private: sandbox}, "Could not connect", 0, ""},
		{"endless body is cut off", huge.URL, webhooks.Config{Timeout: 5 * time.Second, Private: sandbox}, "", 200, webhooks.InternalResponse},
		{"loopback blocked by default", ok.URL, webhooks.Config{}, "Could not connect", 0, blocked},
		{"loopback blocked when private targets are off", ok.URL, webhooks.Config{Private: webhookurl.PrivateNone}, "Could not connect", 0, blocked},
		{"loopback allowed for sandbox when asked", ok.URL, webhooks.Config{Private: sandbox}, "", 200, webhooks.InternalResponse},
		{"refused is one reason with private targets", "http://127.0.0.1:1/", webhooks.Config{Private: sandbox}, "Could not connect", 0, ""},
		{"unknown name is one reason with private targets", "http://banklink-test.invalid/", webhooks.Config{Timeout: 2 * time.Second, Private: sandbox}, "Could not connect", 0, ""},
		{"refused while blocked names no address", "http://127.0.0.1:1/", webhooks.Config{}, "Could not connect", 0, blocked},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.url, tt.cfg)
			e := f.emit(t, webhook.Test, "")
			if _, err := f.d.DeliverDue(t.Context()); err != nil {
				t.Fatal(err)
			}
			a := f.deliveries(t, e.ID)[0].AttemptLog[0]
			if a.Reason != tt.wantReason || a.StatusCode != tt.wantStatus || a.Response != tt.wantResponse {
				t.Errorf("attempt = %+v", a)
			}
		})
	}
	if n := len(redirectTarget.requests()); n != 0 {
		t.Errorf("redirect target got %d requests", n)
	}
	if n := len(ok.requests()); n != 1 {
		t.Errorf("guarded receiver got %d requests, want only the allowed one", n)
	}
}

func TestFailureReason(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"dial timeout", &net.OpError{Op: "dial", Err: timeoutError{}}, "Timeout"},
		{"deadline", fmt.Errorf("post: %w", context.DeadlineExceeded), "Timeout"},
		{"refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, "Could not connect"},
	} {
		if got := webhooks.FailureReason(tt.err); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// TestRunDeliversEachOnceInOrder runs two deliverers (two workers pools,
// as two replicas would) against one store and a real receiver: every
// event arrives exactly once, and each connection's events arrive in the
// order they were emitted.
func TestRunDeliversEachOnceInOrder(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			rcv := newReceiver(t, nil)
			f := newFixtureOn(t, dialect, rcv.URL, local)
			f.store.Now = time.Now
			const conns, perConn = 6, 8
			want := map[string][]string{}
			for i := range perConn {
				for c := range conns {
					conn := string(rune('a' + c))
					e := banklink.NewEvent(t.Context(), webhook.EventTypes[i%len(webhook.EventTypes)], webhook.Payload{ConnectionID: conn})
					if err := f.store.EmitEvents(t.Context(), f.scope, e); err != nil {
						t.Fatal(err)
					}
					want[conn] = append(want[conn], e.ID)
				}
			}
			ctx, cancel := context.WithCancel(t.Context())
			var wg sync.WaitGroup
			for range 2 {
				d := webhooks.New(f.store, webhooks.Config{Workers: 4, Poll: 20 * time.Millisecond, Private: webhookurl.PrivateSandbox}, nil)
				d.Kicks = f.store.Kicks()
				wg.Go(func() { d.Run(ctx) })
			}
			testenv.Eventually(t, 30*time.Second, "no delivery pending", func() bool {
				n, err := f.store.PendingDeliveries(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				return n == 0
			})
			cancel()
			wg.Wait()
			got := map[string][]string{}
			seen := map[string]int{}
			for _, r := range rcv.requests() {
				var p webhook.Payload
				json.Unmarshal(r.env.Payload, &p)
				got[p.ConnectionID] = append(got[p.ConnectionID], r.env.EventID)
				seen[r.env.EventID]++
			}
			for id, n := range seen {
				if n != 1 {
					t.Errorf("event %s delivered %d times", id, n)
				}
			}
			for conn, ids := range want {
				if !slices.Equal(got[conn], ids) {
					t.Errorf("connection %s: received %v, emitted %v", conn, got[conn], ids)
				}
			}
		})
	}
}
