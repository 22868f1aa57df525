package storetest

import (
	"slices"
	"testing"
	"time"

	"banklink"

	"github.com/google/go-cmp/cmp"
)

func testAppProfiles(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	a := MustAccount(t, s, "Acme")
	sb := banklink.Scope{AccountID: a.ID, Environment: banklink.Sandbox}
	prod := banklink.Scope{AccountID: a.ID, Environment: banklink.Production}
	got, err := s.FindAppProfile(ctx, sb)
	must(t, err)
	if diff := cmp.Diff(&banklink.AppProfile{}, got); diff != "" {
		t.Errorf("profile of a new account (-want +got):\n%s", diff)
	}
	want := &banklink.AppProfile{DisplayName: "Acme Budget ✓", LogoURL: "https://acme.example/logo.png",
		PrivacyPolicyURL: "https://acme.example/privacy", BrandColor: "#0f766e", UpdatedAt: t0}
	must(t, s.SaveAppProfile(ctx, sb, want))
	got, err = s.FindAppProfile(ctx, sb)
	must(t, err)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("saved profile (-want +got):\n%s", diff)
	}
	// Environments are apart: production has none yet.
	got, err = s.FindAppProfile(ctx, prod)
	must(t, err)
	if got.DisplayName != "" || !got.UpdatedAt.IsZero() {
		t.Errorf("production profile = %+v, want none", got)
	}
	// Saving replaces every field, clearing the ones left empty.
	repl := &banklink.AppProfile{DisplayName: "Acme", UpdatedAt: t0.Add(time.Minute)}
	must(t, s.SaveAppProfile(ctx, sb, repl))
	got, err = s.FindAppProfile(ctx, sb)
	must(t, err)
	if diff := cmp.Diff(repl, got); diff != "" {
		t.Errorf("replaced profile (-want +got):\n%s", diff)
	}
	wantCode(t, s.SaveAppProfile(ctx, banklink.Scope{AccountID: "missing", Environment: banklink.Sandbox}, want), banklink.ENOTFOUND)
}

// testDeclinedProducts: the consent a session holds round-trips, and the
// optional products a completion (or repair) declines leave the
// connection as it completes, the others staying.
func testDeclinedProducts(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	a := MustAccount(t, s, "Acme")
	scope := banklink.Scope{AccountID: a.ID, Environment: banklink.Sandbox}
	inst := &banklink.Institution{ID: banklink.NewID(), Name: "Sandbox Bank", Rank: 1,
		Providers: map[string]banklink.ProviderInstitution{"sandbox": {ProviderInstitutionID: "sb", Products: banklink.Products}}}
	must(t, s.UpsertInstitutions(ctx, []*banklink.Institution{inst}))
	conn := NewConnection(scope)
	conn.ExpiresAt = time.Now().Add(time.Hour)
	conn.Products = []banklink.Product{banklink.Balances}
	conn.OptionalProducts = []banklink.Product{banklink.Owners, banklink.Identifiers, banklink.Transactions}
	must(t, s.StartConnection(ctx, NewCustomer(scope, "cust"), conn))

	consent := &banklink.Consent{Declined: []banklink.Product{banklink.Owners, banklink.Transactions}, At: t0}
	sess := &banklink.ConnectSession{ConnectionID: conn.ID, Step: banklink.StepAccounts, InstitutionID: inst.ID, ProviderType: "sandbox",
		LoginID: "sbx_1", Accounts: offered, Consent: consent, UpdatedAt: t0}
	must(t, s.SaveConnectSession(ctx, sess))
	got := sessionCopy(t, s, conn.ID)
	if diff := cmp.Diff(consent, got.Consent); diff != "" {
		t.Errorf("stored consent (-want +got):\n%s", diff)
	}
	got.Step, got.Accounts = banklink.StepDone, offered[:1]
	done, err := s.CompleteConnectSession(ctx, scope, got, banklink.Completion{InstitutionID: inst.ID, ProviderType: "sandbox", LoginID: "sbx_1",
		At: time.Now(), Declined: consent.Declined}, 0)
	must(t, err)
	want := []banklink.Product{banklink.Identifiers}
	if !slices.Equal(done.OptionalProducts, want) || !slices.Equal(done.Products, conn.Products) {
		t.Errorf("completed with products %v optional %v, want %v optional %v", done.Products, done.OptionalProducts, conn.Products, want)
	}
	stored, err := s.FindConnectionByID(ctx, scope, conn.ID)
	must(t, err)
	if !slices.Equal(stored.OptionalProducts, want) {
		t.Errorf("stored optional products %v, want %v", stored.OptionalProducts, want)
	}
}
