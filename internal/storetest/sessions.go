package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"banklink"
	"banklink/webhook"

	"github.com/google/go-cmp/cmp"
)

func startOne(t *testing.T, s banklink.Store) (banklink.Scope, *banklink.Connection, *banklink.Institution) {
	t.Helper()
	a := MustAccount(t, s, "Acme")
	scope := banklink.Scope{AccountID: a.ID, Environment: banklink.Sandbox}
	inst := &banklink.Institution{ID: banklink.NewID(), Name: "Sandbox Bank", Rank: 1,
		Providers: map[string]banklink.ProviderInstitution{"sandbox": {ProviderInstitutionID: "sb", Products: banklink.Products}}}
	must(t, s.UpsertInstitutions(t.Context(), []*banklink.Institution{inst}))
	conn := NewConnection(scope)
	conn.ExpiresAt = time.Now().Add(time.Hour)
	must(t, s.StartConnection(t.Context(), NewCustomer(scope, "cust"), conn))
	return scope, conn, inst
}

func testConnectSessions(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, conn, inst := startOne(t, s)
	_, err := s.FindConnectSession(ctx, conn.ID)
	wantCode(t, err, banklink.ENOTFOUND)
	sess := &banklink.ConnectSession{
		ConnectionID: conn.ID, Step: banklink.StepMFA, InstitutionID: inst.ID, ProviderType: "sandbox",
		ProviderState: "code|sbx_1", MFA: &banklink.MFAChallenge{Kind: banklink.MFAChoice, Prompt: "Where?", Choices: []string{"a", "b"}},
		Failures: 2, Tab: "tab-0123456789abcdef", UpdatedAt: t0,
	}
	must(t, s.SaveConnectSession(ctx, sess))
	got, err := s.FindConnectSession(ctx, conn.ID)
	must(t, err)
	if diff := cmp.Diff(sess, got); diff != "" {
		t.Errorf("FindConnectSession mismatch (-want +got):\n%s", diff)
	}
	sess.Step, sess.MFA, sess.LoginID = banklink.StepAccounts, nil, "sbx_1"
	sess.Accounts = []banklink.ProviderAccount{{ID: "a1", Name: "Checking", Type: "DEPOSITORY", Subtype: "CHECKING", Mask: "1234"}}
	must(t, s.SaveConnectSession(ctx, sess))
	got, err = s.FindConnectSession(ctx, conn.ID)
	must(t, err)
	if diff := cmp.Diff(sess, got); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}
	bad := *sess
	bad.InstitutionID = "missing"
	wantCode(t, s.SaveConnectSession(ctx, &bad), banklink.ENOTFOUND)
	gone := *sess
	gone.ConnectionID = "no-such-connection"
	wantCode(t, s.SaveConnectSession(ctx, &gone), banklink.ENOTFOUND)
	_, err = s.CompleteConnection(ctx, scope, conn.ID, banklink.Completion{InstitutionID: inst.ID, ProviderType: "sandbox", LoginID: "sbx_1"})
	must(t, err)
	// A finished connection takes no more widget progress.
	wantCode(t, s.SaveConnectSession(ctx, sess), banklink.ECONFLICT)
}

func testCompleteExactlyOnce(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, conn, inst := startOne(t, s)
	other := banklink.Scope{AccountID: MustAccount(t, s, "Other").ID, Environment: banklink.Sandbox}
	_, err := s.CompleteConnection(ctx, other, conn.ID, banklink.Completion{InstitutionID: inst.ID})
	wantCode(t, err, banklink.ENOTFOUND)

	const n = 12
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for range n {
		wg.Go(func() {
			c, err := s.CompleteConnection(ctx, scope, conn.ID, banklink.Completion{InstitutionID: inst.ID, ProviderType: "sandbox", LoginID: "sbx_9", At: time.Now()})
			mu.Lock()
			defer mu.Unlock()
			switch banklink.ErrorCode(err) {
			case "":
				wins++
				if c.Status != banklink.StatusActive || c.InstitutionID != inst.ID || c.ProviderLoginID != "sbx_9" || c.CompletedAt == nil {
					t.Errorf("completed connection = %+v", c)
				}
			case banklink.ECONFLICT:
				conflicts++
			default:
				t.Errorf("CompleteConnection: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || conflicts != n-1 {
		t.Fatalf("%d completions succeeded and %d conflicted, want 1 and %d", wins, conflicts, n-1)
	}
}

func testCompleteExpired(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, conn, inst := startOne(t, s)
	_, err := s.CompleteConnection(ctx, scope, conn.ID, banklink.Completion{InstitutionID: inst.ID, At: conn.ExpiresAt.Add(time.Second)})
	wantCode(t, err, banklink.ECONFLICT)
	got, err := s.FindConnectionByID(ctx, scope, conn.ID)
	must(t, err)
	if got.Status != banklink.StatusInProgress || got.CompletedAt != nil {
		t.Errorf("expired completion changed the connection: %+v", got)
	}
}

func testWidgetOrigins(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	a := MustAccount(t, s, "Acme")
	sb := banklink.Scope{AccountID: a.ID, Environment: banklink.Sandbox}
	prod := banklink.Scope{AccountID: a.ID, Environment: banklink.Production}
	got, err := s.FindWidgetOrigins(ctx, sb)
	must(t, err)
	if len(got) != 0 {
		t.Errorf("origins of a new account = %v", got)
	}
	must(t, s.SetWidgetOrigins(ctx, sb, []string{"https://b.example", "https://a.example"}))
	must(t, s.SetWidgetOrigins(ctx, prod, []string{"https://prod.example"}))
	got, err = s.FindWidgetOrigins(ctx, sb)
	must(t, err)
	if diff := cmp.Diff([]string{"https://a.example", "https://b.example"}, got); diff != "" {
		t.Errorf("origins (-want +got):\n%s", diff)
	}
	must(t, s.SetWidgetOrigins(ctx, sb, nil))
	got, err = s.FindWidgetOrigins(ctx, sb)
	must(t, err)
	if len(got) != 0 {
		t.Errorf("cleared origins = %v", got)
	}
	wantCode(t, s.SetWidgetOrigins(ctx, banklink.Scope{AccountID: "missing", Environment: banklink.Sandbox}, []string{"https://x"}), banklink.ENOTFOUND)
}

// race runs fn(i) for i in [0, n) at once and returns, per error code
// ("" for success), the indexes that got it.
func race(n int, fn func(i int) error) map[string][]int {
	var mu sync.Mutex
	out := map[string][]int{}
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-gate
			err := fn(i)
			mu.Lock()
			defer mu.Unlock()
			code := banklink.ErrorCode(err)
			out[code] = append(out[code], i)
		})
	}
	close(gate)
	wg.Wait()
	return out
}

// sessionCopy reads the stored session: what one request works on.
func sessionCopy(t *testing.T, s banklink.Store, connectionID string) *banklink.ConnectSession {
	t.Helper()
	sess, err := s.FindConnectSession(t.Context(), connectionID)
	must(t, err)
	return sess
}

func testConnectSessionVersions(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	_, conn, inst := startOne(t, s)
	fresh := func() *banklink.ConnectSession {
		return &banklink.ConnectSession{ConnectionID: conn.ID, Step: banklink.StepCredentials, InstitutionID: inst.ID, ProviderType: "sandbox", UpdatedAt: t0}
	}
	first := fresh()
	must(t, s.SaveConnectSession(ctx, first))
	if first.Version != 1 {
		t.Fatalf("a new session's version = %d, want 1", first.Version)
	}
	// Another request also started the session: it was created already.
	wantCode(t, s.SaveConnectSession(ctx, fresh()), banklink.ECONFLICT)

	// Two requests read the same version; the second save would undo
	// the first.
	a, b := sessionCopy(t, s, conn.ID), sessionCopy(t, s, conn.ID)
	a.ProviderState, b.ProviderState = "a", "b"
	must(t, s.SaveConnectSession(ctx, a))
	wantCode(t, s.SaveConnectSession(ctx, b), banklink.ECONFLICT)
	if got := sessionCopy(t, s, conn.ID); got.ProviderState != "a" || got.Version != 2 || a.Version != 2 {
		t.Fatalf("after a conflicting save: stored %q at version %d, saved copy at %d", got.ProviderState, got.Version, a.Version)
	}

	// Many at once, as replicas would: exactly one lands.
	const n = 12
	copies := make([]*banklink.ConnectSession, n)
	for i := range copies {
		copies[i] = sessionCopy(t, s, conn.ID)
		copies[i].ProviderState = fmt.Sprint("state-", i)
	}
	got := race(n, func(i int) error { return s.SaveConnectSession(ctx, copies[i]) })
	if len(got[""]) != 1 || len(got[banklink.ECONFLICT]) != n-1 {
		t.Fatalf("concurrent saves of one version: %v, want one success and %d conflicts", got, n-1)
	}
	if stored := sessionCopy(t, s, conn.ID); stored.ProviderState != copies[got[""][0]].ProviderState {
		t.Errorf("stored %q, but the save that succeeded wrote %q", stored.ProviderState, copies[got[""][0]].ProviderState)
	}
}

func testCountLoginAttempts(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	_, conn, inst := startOne(t, s)
	_, err := s.CountLoginAttempt(ctx, &banklink.ConnectSession{ConnectionID: conn.ID}, 5)
	wantCode(t, err, banklink.ENOTFOUND)
	must(t, s.SaveConnectSession(ctx, &banklink.ConnectSession{ConnectionID: conn.ID, Step: banklink.StepCredentials, InstitutionID: inst.ID, ProviderType: "sandbox"}))

	// 30 attempts at once against a limit of 5: five are counted, with
	// the counts 1 to 5, and the others refused.
	const limit, n = 5, 30
	counts := make([]int, n)
	got := race(n, func(i int) error {
		var err error
		counts[i], err = s.CountLoginAttempt(ctx, sessionCopy(t, s, conn.ID), limit)
		return err
	})
	if len(got[""]) != limit || len(got[banklink.ERATELIMITED]) != n-limit {
		t.Fatalf("concurrent attempts: %v, want %d counted and %d refused", got, limit, n-limit)
	}
	var seen []int
	for _, i := range got[""] {
		seen = append(seen, counts[i])
	}
	slices.Sort(seen)
	if !slices.Equal(seen, []int{1, 2, 3, 4, 5}) {
		t.Errorf("counts returned = %v, want 1 to 5", seen)
	}

	// Forgiving one makes room for one more.
	must(t, s.ForgiveLoginAttempt(ctx, conn.ID))
	cur := sessionCopy(t, s, conn.ID)
	if cur.Failures != limit-1 {
		t.Fatalf("failures after forgiving one = %d", cur.Failures)
	}
	if c, err := s.CountLoginAttempt(ctx, cur, limit); err != nil || c != limit || cur.Failures != limit {
		t.Fatalf("attempt after forgiving: %d, %v (session says %d)", c, err, cur.Failures)
	}
	_, err = s.CountLoginAttempt(ctx, cur, limit)
	wantCode(t, err, banklink.ERATELIMITED)

	// A save does not undo the count, whatever Failures it carries.
	cur.Failures, cur.ProviderState = 0, "moved on"
	stale := sessionCopy(t, s, conn.ID)
	must(t, s.SaveConnectSession(ctx, cur))
	if got := sessionCopy(t, s, conn.ID); got.Failures != limit || got.ProviderState != "moved on" {
		t.Fatalf("after a save carrying 0 failures: %d failures, state %q", got.Failures, got.ProviderState)
	}
	// An attempt of a request that read the session before it moved on
	// is refused as such, before the limit.
	must(t, s.ForgiveLoginAttempt(ctx, conn.ID))
	_, err = s.CountLoginAttempt(ctx, stale, limit)
	wantCode(t, err, banklink.ECONFLICT)

	// Forgiving never goes below zero.
	for range limit + 2 {
		must(t, s.ForgiveLoginAttempt(ctx, conn.ID))
	}
	if got := sessionCopy(t, s, conn.ID); got.Failures != 0 {
		t.Errorf("failures after forgiving more than counted = %d", got.Failures)
	}
}

// testBestEffortForgiveness: the widget forgives a login attempt under
// banklink.BestEffort. A store may queue the forgiveness, but the next
// attempt still counts after it, however soon it comes, and the
// forgiveness survives its request's context being cancelled.
func testBestEffortForgiveness(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	_, conn, inst := startOne(t, s)
	must(t, s.SaveConnectSession(ctx, &banklink.ConnectSession{ConnectionID: conn.ID, Step: banklink.StepCredentials, InstitutionID: inst.ID, ProviderType: "sandbox"}))
	const limit = 3
	for i := range 10 {
		n, err := s.CountLoginAttempt(ctx, sessionCopy(t, s, conn.ID), limit)
		if err != nil || n != 1 {
			t.Fatalf("attempt %d: count %d, %v; want 1 after every forgiveness before it", i, n, err)
		}
		reqCtx, cancel := context.WithCancel(ctx)
		must(t, s.ForgiveLoginAttempt(banklink.BestEffort(reqCtx), conn.ID))
		cancel()
	}
	// Health samples written the same way are all there once the store
	// has answered a later ordinary write.
	for i := range 5 {
		must(t, s.RecordProviderAttempt(banklink.BestEffort(ctx), "best-effort", inst.ID, false, fmt.Sprint("R", i), t0.Add(time.Duration(i)*time.Second)))
	}
	_, err := s.CountLoginAttempt(ctx, sessionCopy(t, s, conn.ID), limit)
	must(t, err)
	if n, reason, err := s.ProviderFailures(ctx, "best-effort", inst.ID, t0.Add(-time.Minute)); err != nil || n != 5 || reason != "R4" {
		t.Errorf("provider failures = %d, %q, %v; want 5 ending with R4", n, reason, err)
	}
}

var offered = []banklink.ProviderAccount{
	{ID: "a0", Name: "Checking", Type: "DEPOSITORY", Subtype: "CHECKING", Mask: "0000"},
	{ID: "a1", Name: "Savings", Type: "DEPOSITORY", Subtype: "SAVINGS", Mask: "1111"},
	{ID: "a2", Name: "Card", Type: "CREDIT", Subtype: "CREDIT_CARD", Mask: "2222"},
	{ID: "a3", Name: "Loan", Type: "LOAN", Subtype: "AUTO", Mask: "3333"},
}

// atAccounts stores a session that logged in as loginID and offers the
// accounts above, and returns it as read back.
func atAccounts(t *testing.T, s banklink.Store, conn *banklink.Connection, inst *banklink.Institution, loginID string, version int) *banklink.ConnectSession {
	t.Helper()
	must(t, s.SaveConnectSession(t.Context(), &banklink.ConnectSession{ConnectionID: conn.ID, Step: banklink.StepAccounts, InstitutionID: inst.ID,
		ProviderType: "sandbox", LoginID: loginID, Accounts: offered, UpdatedAt: t0, Version: version}))
	return sessionCopy(t, s, conn.ID)
}

// completeRace completes (or, with repairOf, repairs) conn from n
// requests at once, request i choosing offered[i%len]; it checks that
// exactly one succeeds and that the session holds its choice, and returns
// the winner's index.
func completeRace(t *testing.T, s banklink.Store, scope banklink.Scope, conn *banklink.Connection, inst *banklink.Institution, loginID string, repairOf int64) int {
	t.Helper()
	const n = 8
	copies := make([]*banklink.ConnectSession, n)
	for i := range copies {
		copies[i] = sessionCopy(t, s, conn.ID)
		copies[i].Step, copies[i].Accounts = banklink.StepDone, offered[i%len(offered):i%len(offered)+1]
	}
	done := make([]*banklink.Connection, n)
	got := race(n, func(i int) error {
		var err error
		done[i], err = s.CompleteConnectSession(t.Context(), scope, copies[i],
			banklink.Completion{InstitutionID: inst.ID, ProviderType: "sandbox", LoginID: loginID, At: time.Now()}, repairOf)
		return err
	})
	if len(got[""]) != 1 || len(got[banklink.ECONFLICT]) != n-1 {
		t.Fatalf("concurrent completions: %v, want one success and %d conflicts", got, n-1)
	}
	w := got[""][0]
	if c := done[w]; c.Status != banklink.StatusActive || c.ProviderLoginID != loginID || c.CompletedMicros() == repairOf {
		t.Errorf("completed connection = %+v", c)
	}
	stored := sessionCopy(t, s, conn.ID)
	if diff := cmp.Diff(copies[w], stored); diff != "" {
		t.Errorf("stored session is not the winner's (-winner +stored):\n%s", diff)
	}
	return w
}

func testCompleteConnectSession(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, conn, inst := startOne(t, s)
	other := banklink.Scope{AccountID: MustAccount(t, s, "Other").ID, Environment: banklink.Sandbox}
	sess := atAccounts(t, s, conn, inst, "sbx_1", 0)
	sess.Step = banklink.StepDone
	_, err := s.CompleteConnectSession(ctx, other, sess, banklink.Completion{InstitutionID: inst.ID, ProviderType: "sandbox", LoginID: "sbx_1"}, 0)
	wantCode(t, err, banklink.ENOTFOUND)

	// A session that changed since it was read completes nothing: the
	// connection stays IN_PROGRESS and the session as the change left it.
	stale := sessionCopy(t, s, conn.ID)
	moved := sessionCopy(t, s, conn.ID)
	moved.Step, moved.Accounts, moved.LoginID = banklink.StepCredentials, nil, ""
	must(t, s.SaveConnectSession(ctx, moved))
	stale.Step = banklink.StepDone
	_, err = s.CompleteConnectSession(ctx, scope, stale, banklink.Completion{InstitutionID: inst.ID, ProviderType: "sandbox", LoginID: "sbx_1", At: time.Now()}, 0)
	wantCode(t, err, banklink.ECONFLICT)
	if c, err := s.FindConnectionByID(ctx, scope, conn.ID); err != nil || c.Status != banklink.StatusInProgress || c.CompletedAt != nil {
		t.Fatalf("a stale completion changed the connection: %+v %v", c, err)
	}
	if got := sessionCopy(t, s, conn.ID); got.Step != banklink.StepCredentials || got.Version != moved.Version {
		t.Fatalf("a stale completion changed the session: %+v", got)
	}

	// The real thing, from several requests choosing different accounts.
	atAccounts(t, s, conn, inst, "sbx_1", moved.Version)
	completeRace(t, s, scope, conn, inst, "sbx_1", 0)
	// Exactly one completion: one COMPLETED event.
	if got := eventTypes(t, s, scope, banklink.EventFilter{Types: []webhook.EventType{webhook.ConnectionCompleted}}); len(got) != 1 {
		t.Errorf("COMPLETED events = %v", got)
	}
}

func testRepairConnectSession(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, conn, inst := startOne(t, s)
	sess := atAccounts(t, s, conn, inst, "sbx_1", 0)
	for range 3 {
		_, err := s.CountLoginAttempt(ctx, sessionCopy(t, s, conn.ID), banklink.MaxLoginFailures)
		must(t, err)
	}
	sess.Step, sess.Accounts = banklink.StepDone, offered[:1]
	done, err := s.CompleteConnectSession(ctx, scope, sess, banklink.Completion{InstitutionID: inst.ID, ProviderType: "sandbox", LoginID: "sbx_1", At: t0}, 0)
	must(t, err)
	ok, err := s.ChangeConnectionStatus(ctx, scope, conn.ID, banklink.StatusChange{From: banklink.StatusActive, To: banklink.StatusReconnectRequired, ToReason: "LOGIN_REQUIRED", At: t0})
	if err != nil || !ok {
		t.Fatalf("to RECONNECT_REQUIRED: %v %v", ok, err)
	}
	// The repair's session replaces the finished one and starts counting
	// failures afresh.
	atAccounts(t, s, conn, inst, "sbx_2", sess.Version)
	if got := sessionCopy(t, s, conn.ID); got.Failures != 0 {
		t.Errorf("a repair's new session has %d failures, want 0", got.Failures)
	}
	completeRace(t, s, scope, conn, inst, "sbx_2", done.CompletedMicros())
}
