package providers_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"banklink"
	"banklink/internal/config"
	"banklink/internal/finicity"
	"banklink/internal/mx"
	"banklink/internal/plaid"
	"banklink/internal/providers"
	"banklink/internal/sandbox"
)

// limited is a provider with one capability, to show capabilities are
// found by type assertion and nothing else.
type limited struct{}

func (limited) Type() string { return "limited" }
func (limited) NextRefresh(context.Context, string, map[string]string, time.Time) (time.Time, error) {
	return time.Time{}, nil
}

func TestRegistryCapabilities(t *testing.T) {
	r := providers.New(sandbox.NewB(), limited{})
	for _, tc := range []struct {
		name                      string
		typ                       string
		remover, limiter, keyer   bool
		login, aggregator, hooked bool
	}{
		{"sandbox-b", sandbox.ProviderTypeB, false, false, true, true, true, false},
		{"one capability", "limited", false, true, false, false, false, false},
		{"not registered", "finicity", false, false, false, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, keyer := r.CredentialKeys(tc.typ)
			_, login := r.Logins()[tc.typ]
			_, agg := r.Aggregators()[tc.typ]
			got := []bool{r.LoginRemover(tc.typ) != nil, r.RefreshLimiter(tc.typ) != nil, keyer, login, agg, r.WebhookReceiver(tc.typ) != nil}
			want := []bool{tc.remover, tc.limiter, tc.keyer, tc.login, tc.aggregator, tc.hooked}
			if !slices.Equal(got, want) {
				t.Errorf("remover, limiter, keyer, login, aggregator, webhooks = %v, want %v", got, want)
			}
		})
	}
}

// TestFromConfig: the sandbox providers always, Plaid and MX when their
// credentials are configured, with their capabilities.
func TestFromConfig(t *testing.T) {
	cfg := config.Default()
	cfg.WidgetURL = "https://banklink.example/connect"
	r, err := providers.FromConfig(&cfg, providers.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Types(), []string{sandbox.ProviderType, sandbox.ProviderTypeB}; !slices.Equal(got, want) {
		t.Fatalf("types = %v, want %v", got, want)
	}
	cfg.PlaidClientID, cfg.PlaidSecret, cfg.MXClientID, cfg.MXAPIKey = "p", "s", "m", "k"
	r, err = providers.FromConfig(&cfg, providers.Deps{Secrets: noSecrets{}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Types(), []string{sandbox.ProviderType, sandbox.ProviderTypeB, plaid.ProviderType, mx.ProviderType}; !slices.Equal(got, want) {
		t.Fatalf("types = %v, want %v", got, want)
	}
	if r.WebhookReceiver(plaid.ProviderType) == nil || r.RefreshLimiter(mx.ProviderType) == nil || r.LoginRemover(plaid.ProviderType) == nil {
		t.Error("Plaid's webhooks or removal, or MX's refresh limit, are missing")
	}
	if got, want := r.Directories(), []string{plaid.ProviderType, mx.ProviderType}; !slices.Equal(got, want) {
		t.Errorf("directories = %v, want %v", got, want)
	}
	// Finicity: every capability, found by type assertion.
	cfg.FinicityPartnerID, cfg.FinicityPartnerSecret, cfg.FinicityAppKey = "f", "fs", "fk"
	r, err = providers.FromConfig(&cfg, providers.Deps{Secrets: noSecrets{}})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Types(); len(got) != 5 || got[4] != finicity.ProviderType {
		t.Fatalf("types = %v", got)
	}
	keys, ok := r.CredentialKeys(finicity.ProviderType)
	if r.WebhookReceiver(finicity.ProviderType) == nil || r.RefreshLimiter(finicity.ProviderType) == nil || r.LoginRemover(finicity.ProviderType) == nil ||
		r.Logins()[finicity.ProviderType] == nil || r.Aggregators()[finicity.ProviderType] == nil || r.Lister(finicity.ProviderType) == nil ||
		!ok || !slices.Equal(keys, []string{finicity.CredentialPartnerID, finicity.CredentialPartnerSecret, finicity.CredentialAppKey}) {
		t.Error("a Finicity capability is missing")
	}
	if _, ok := r.Provider(finicity.ProviderType).(banklink.UserProvisioner); !ok {
		t.Error("Finicity does not provision customers")
	}
}

type noSecrets struct{ banklink.SecretStore }
