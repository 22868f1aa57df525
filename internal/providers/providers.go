// Package providers is the registry of the upstream providers a
// deployment runs. Providers register by type; what each can do is
// found by type assertion on the root package's capability interfaces
// (banklink.InteractiveLogin, Aggregator, LoginRemover, RefreshLimiter,
// CredentialKeyer, FrameSource, WebhookReceiver…). FromConfig is the one
// place that knows the providers' constructors: adding a provider
// touches it, not the server, the API or the widget.
package providers

import (
	"context"
	"fmt"
	"slices"

	"banklink"
	"banklink/internal/config"
	"banklink/internal/finicity"
	"banklink/internal/mx"
	"banklink/internal/plaid"
	"banklink/internal/sandbox"
)

// Registry holds providers by type.
type Registry struct {
	byType map[string]banklink.Provider
	order  []string
}

// New returns a registry of ps.
func New(ps ...banklink.Provider) *Registry {
	r := &Registry{byType: map[string]banklink.Provider{}}
	for _, p := range ps {
		r.Register(p)
	}
	return r
}

// Register adds p under its type, replacing a provider of that type.
func (r *Registry) Register(p banklink.Provider) {
	t := p.Type()
	if _, ok := r.byType[t]; !ok {
		r.order = append(r.order, t)
	}
	r.byType[t] = p
}

// Provider returns the provider of type t, nil when none is registered.
func (r *Registry) Provider(t string) banklink.Provider { return r.byType[t] }

// Types lists the registered types in registration order.
func (r *Registry) Types() []string { return slices.Clone(r.order) }

// capability returns the provider of type t as a C, if it is one.
func capability[C any](r *Registry, t string) C {
	c, _ := r.byType[t].(C)
	return c
}

// all returns every registered provider that is a C, by type.
func all[C any](r *Registry) map[string]C {
	out := map[string]C{}
	for t, p := range r.byType {
		if c, ok := p.(C); ok {
			out[t] = c
		}
	}
	return out
}

// LoginRemover returns type t's LoginRemover capability, or nil.
func (r *Registry) LoginRemover(t string) banklink.LoginRemover {
	return capability[banklink.LoginRemover](r, t)
}

// RefreshLimiter returns type t's RefreshLimiter capability, or nil.
func (r *Registry) RefreshLimiter(t string) banklink.RefreshLimiter {
	return capability[banklink.RefreshLimiter](r, t)
}

// ProcessorTokenCreator returns type t's ProcessorTokenCreator
// capability, or nil.
func (r *Registry) ProcessorTokenCreator(t string) banklink.ProcessorTokenCreator {
	return capability[banklink.ProcessorTokenCreator](r, t)
}

// LoginImporter returns type t's LoginImporter capability, or nil.
func (r *Registry) LoginImporter(t string) banklink.LoginImporter {
	return capability[banklink.LoginImporter](r, t)
}

// CredentialKeys returns the credential keys type t takes, false when it
// does not say (it takes any).
func (r *Registry) CredentialKeys(t string) ([]string, bool) {
	if ck := capability[banklink.CredentialKeyer](r, t); ck != nil {
		return ck.CredentialKeys(), true
	}
	return nil, false
}

// WebhookReceiver returns type t's WebhookReceiver capability, or nil.
func (r *Registry) WebhookReceiver(t string) banklink.WebhookReceiver {
	return capability[banklink.WebhookReceiver](r, t)
}

// Logins returns the providers with an interactive login, by type.
func (r *Registry) Logins() map[string]banklink.InteractiveLogin {
	return all[banklink.InteractiveLogin](r)
}

// Aggregators returns the providers that aggregate, by type.
func (r *Registry) Aggregators() map[string]banklink.Aggregator {
	return all[banklink.Aggregator](r)
}

// InstitutionLister is a provider with an institution directory of its
// own, merged into banklink's at start.
type InstitutionLister interface {
	Institutions(ctx context.Context) ([]*banklink.Institution, error)
}

// Directories returns the types of the providers with a directory of
// their own, in registration order. (The sandbox providers' directory is
// banklink's seed.)
func (r *Registry) Directories() []string {
	var out []string
	for _, t := range r.order {
		if _, ok := r.byType[t].(InstitutionLister); ok {
			out = append(out, t)
		}
	}
	return out
}

// Lister returns type t's directory, or nil.
func (r *Registry) Lister(t string) InstitutionLister { return capability[InstitutionLister](r, t) }

// Deps are what providers need from the rest of the service.
type Deps struct {
	// Secrets and Sealer keep Plaid's access tokens.
	Secrets banklink.SecretStore
	Sealer  banklink.Sealer
}

// FromConfig builds the registry cfg asks for: the two sandbox providers
// always, Plaid, MX and Finicity when their credentials are set.
func FromConfig(cfg *config.Config, deps Deps) (*Registry, error) {
	r := New(&sandbox.Provider{AuthorizeURL: cfg.WidgetURL + "/sandbox/authorize"}, sandbox.NewB())
	if cfg.PlaidClientID != "" {
		p, err := plaid.New(plaid.Config{ClientID: cfg.PlaidClientID, Secret: cfg.PlaidSecret, Environment: cfg.PlaidEnv,
			RedirectURI: cfg.PlaidRedirectURI, WebhookURL: cfg.PlaidWebhookURL, BaseURL: cfg.PlaidBaseURL, Secrets: deps.Secrets, Sealer: deps.Sealer})
		if err != nil {
			return nil, fmt.Errorf("plaid: %w", err)
		}
		r.Register(p)
	}
	if cfg.MXClientID != "" {
		base := cfg.MXBaseURL
		if base == "" {
			base = mx.IntegrationURL
			if cfg.MXEnv == "production" {
				base = mx.ProductionURL
			}
		}
		r.Register(mx.New(mx.Config{ClientID: cfg.MXClientID, APIKey: cfg.MXAPIKey, BaseURL: base,
			Redirect: cfg.MXConnectMode == "redirect", RedirectURL: cfg.MXRedirectURL, WidgetOrigin: cfg.MXWidgetOrigin}))
	}
	if cfg.FinicityPartnerID != "" {
		r.Register(finicity.New(finicity.Config{PartnerID: cfg.FinicityPartnerID, PartnerSecret: cfg.FinicityPartnerSecret, AppKey: cfg.FinicityAppKey,
			Testing: cfg.FinicityEnv != "production", BaseURL: cfg.FinicityBaseURL, WebhookURL: cfg.FinicityWebhookURL,
			Embed: cfg.FinicityConnectMode == "embed", ConnectOrigin: cfg.FinicityConnectOrigin, Experience: cfg.FinicityExperience}))
	}
	return r, nil
}
