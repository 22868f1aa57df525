package linking

import (
	"context"
	"slices"
	"strings"

	"banklink"
	"banklink/webhook"
)

// The operations below validate and store service providers, routing
// rules and webhook profiles, for the API and the dashboard alike.

// Limits of the configuration operations.
const (
	maxCredentials       = 16
	maxCredentialKeyLen  = 64
	maxCredentialValLen  = 4096
	maxRoutingRules      = 1000
	routingActionForce   = "FORCE"
	routingActionExclude = "EXCLUDE"
	// MaxWebhookProfiles is how many webhook profiles an account may have
	// per environment.
	MaxWebhookProfiles = 10
)

// ServiceProviderInput is the body of PUT /service-providers/{provider}.
// Nil fields keep their stored value; nil Credentials keep the stored
// credentials, others replace them whole.
type ServiceProviderInput struct {
	DisplayOrder *int              `json:"displayOrder"`
	Enabled      *bool             `json:"enabled"`
	Credentials  map[string]string `json:"credentials"`
}

// ValidateCredentials checks provider credentials as PUT
// /service-providers does. Its messages never include a value.
func ValidateCredentials(creds map[string]string) error {
	if len(creds) > maxCredentials {
		return banklink.FieldErrorf("credentials", "must have at most %d fields", maxCredentials)
	}
	for k, v := range creds {
		if k == "" || len(k) > maxCredentialKeyLen || strings.ContainsFunc(k, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
			return banklink.FieldErrorf("credentials", "field names must be 1 to %d printable ASCII characters", maxCredentialKeyLen)
		}
		if v == "" || len(v) > maxCredentialValLen {
			return banklink.FieldErrorf("credentials", "field %q must have a value of 1 to %d bytes", k, maxCredentialValLen)
		}
	}
	return nil
}

// PutServiceProvider creates or updates scope's configuration of provider
// (a type such as "sandbox-b" or its wire name SANDBOX_B) and reports
// whether it was created.
func (s *Service) PutServiceProvider(ctx context.Context, scope banklink.Scope, provider string, in ServiceProviderInput) (*banklink.ProviderConfig, bool, error) {
	provider = banklink.ProviderTypeOf(provider)
	if !slices.Contains(s.Config.Providers[scope.Environment], provider) {
		return nil, false, banklink.Errorf(banklink.ENOTFOUND, "Service provider %s is not available for %s keys on this deployment.", truncate(banklink.ProviderWireName(provider), 40), scope.Environment)
	}
	if err := ValidateCredentials(in.Credentials); err != nil {
		return nil, false, err
	}
	if keys, ok := s.CredentialKeys(provider); ok {
		for k := range in.Credentials {
			if !slices.Contains(keys, k) {
				want := "no credentials"
				if len(keys) > 0 {
					want = strings.Join(keys, ", ")
				}
				return nil, false, banklink.FieldErrorf("credentials", "contains %q; %s takes %s", truncate(k, 64), banklink.ProviderWireName(provider), want)
			}
		}
	}
	c := &banklink.ProviderConfig{AccountID: scope.AccountID, Environment: scope.Environment, ProviderType: provider, Enabled: true,
		Credentials: in.Credentials}
	existing, err := s.Store.FindProviderConfigs(ctx, scope)
	if err != nil {
		return nil, false, err
	}
	created := true
	for _, e := range existing {
		if e.ProviderType == provider {
			created = false
			c.DisplayOrder, c.Enabled = e.DisplayOrder, e.Enabled
		}
	}
	if created {
		c.DisplayOrder = len(existing) + 1
	}
	if in.DisplayOrder != nil {
		if *in.DisplayOrder < 0 || *in.DisplayOrder > 1000 {
			return nil, false, banklink.FieldErrorf("displayOrder", "must be from 0 to 1000")
		}
		c.DisplayOrder = *in.DisplayOrder
	}
	if in.Enabled != nil {
		c.Enabled = *in.Enabled
	}
	if err := s.Store.SaveProviderConfig(ctx, c); err != nil {
		return nil, false, err
	}
	return c, created, nil
}

// RoutingRuleInput is one rule of PUT /routing/rules.
type RoutingRuleInput struct {
	InstitutionID   string `json:"institutionId"`
	ServiceProvider string `json:"serviceProvider"`
	Action          string `json:"action"`
}

// PutRoutingRules validates rules as PUT /routing/rules does and replaces
// scope's rules with them.
func (s *Service) PutRoutingRules(ctx context.Context, scope banklink.Scope, in []RoutingRuleInput) ([]banklink.RoutingRule, error) {
	if len(in) > maxRoutingRules {
		return nil, banklink.FieldErrorf("rules", "must have at most %d rules", maxRoutingRules)
	}
	ix := s.Directory.Current()
	rules := []banklink.RoutingRule{}
	for i, rule := range in {
		if _, ok := ix.ByID(rule.InstitutionID); !ok {
			return nil, banklink.FieldErrorf("rules", "rule %d names institution %q, which does not exist", i, truncate(rule.InstitutionID, 40))
		}
		p := banklink.ProviderTypeOf(rule.ServiceProvider)
		if !slices.Contains(s.Config.Providers[scope.Environment], p) {
			return nil, banklink.FieldErrorf("rules", "rule %d names service provider %q, which is not available for %s keys", i, truncate(rule.ServiceProvider, 40), scope.Environment)
		}
		if rule.Action != routingActionForce && rule.Action != routingActionExclude {
			return nil, banklink.FieldErrorf("rules", "rule %d: action must be FORCE or EXCLUDE", i)
		}
		rules = append(rules, banklink.RoutingRule{InstitutionID: rule.InstitutionID, ProviderType: p, Action: rule.Action})
	}
	if err := s.Store.SetRoutingRules(ctx, scope, rules); err != nil {
		return nil, err
	}
	return rules, nil
}

// WebhookProfileInput is the body of POST and PATCH /webhooks/profiles;
// pointers tell an omitted field from a zero one.
type WebhookProfileInput struct {
	URL        *string   `json:"url"`
	Version    *string   `json:"version"`
	Enabled    *bool     `json:"enabled"`
	EventTypes *[]string `json:"eventTypes"`
}

// CreateWebhookProfile validates in as POST /webhooks/profiles does and
// creates the profile; its Secret is the one time the secret is shown.
func (s *Service) CreateWebhookProfile(ctx context.Context, scope banklink.Scope, in WebhookProfileInput) (*banklink.WebhookProfile, error) {
	if in.URL == nil {
		return nil, banklink.FieldErrorf("url", "must not be null")
	}
	existing, err := s.Store.FindWebhookProfiles(ctx, scope)
	if err != nil {
		return nil, err
	}
	if len(existing) >= MaxWebhookProfiles {
		return nil, banklink.Errorf(banklink.ECONFLICT, "An account may have at most %d webhook profiles per environment; delete one first.", MaxWebhookProfiles)
	}
	p := &banklink.WebhookProfile{ID: banklink.NewID(), AccountID: scope.AccountID, Environment: scope.Environment,
		Version: banklink.WebhookVersions[0], Enabled: true, Secret: banklink.NewWebhookSecret(), CreatedAt: s.now()}
	if err := s.applyProfileBody(p, in); err != nil {
		return nil, err
	}
	if err := s.Store.CreateWebhookProfile(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// UpdateWebhookProfile applies in to scope's profile id as PATCH
// /webhooks/profiles/{id} does.
func (s *Service) UpdateWebhookProfile(ctx context.Context, scope banklink.Scope, id string, in WebhookProfileInput) (*banklink.WebhookProfile, error) {
	p, err := s.Store.FindWebhookProfileByID(ctx, scope, id)
	if err != nil {
		return nil, err
	}
	if err := s.applyProfileBody(p, in); err != nil {
		return nil, err
	}
	if err := s.Store.UpdateWebhookProfile(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Service) applyProfileBody(p *banklink.WebhookProfile, b WebhookProfileInput) error {
	if b.URL != nil {
		u := strings.TrimSpace(*b.URL)
		if s.Config.CheckWebhookURL != nil {
			if err := s.Config.CheckWebhookURL(u, p.Environment); err != nil {
				return err
			}
		}
		p.URL = u
	}
	if b.Version != nil {
		if !slices.Contains(banklink.WebhookVersions, *b.Version) {
			return banklink.FieldErrorf("version", "must be one of %s", strings.Join(banklink.WebhookVersions, ", "))
		}
		p.Version = *b.Version
	}
	if b.Enabled != nil {
		p.Enabled = *b.Enabled
	}
	if b.EventTypes != nil {
		types := []webhook.EventType{}
		for _, t := range *b.EventTypes {
			et := webhook.EventType(t)
			if !et.Valid() {
				return banklink.FieldErrorf("eventTypes", "contains %q, which is not an event type", truncate(t, 64))
			}
			if !slices.Contains(types, et) {
				types = append(types, et)
			}
		}
		p.EventTypes = types
	}
	return nil
}

// CredentialKeys are the credential keys a provider takes
// (banklink.CredentialKeyer); false when it takes any.
func (s *Service) CredentialKeys(providerType string) ([]string, bool) {
	if s.Providers == nil {
		return nil, false
	}
	return s.Providers.CredentialKeys(providerType)
}

// SendTestWebhook emits a WEBHOOK_TEST event to the profile profileID, or
// to every enabled profile when it is empty.
func (s *Service) SendTestWebhook(ctx context.Context, scope banklink.Scope, profileID string) (*banklink.Event, error) {
	if profileID != "" {
		p, err := s.Store.FindWebhookProfileByID(ctx, scope, profileID)
		if err != nil {
			return nil, err
		}
		if !p.Enabled {
			return nil, banklink.Errorf(banklink.ECONFLICT, "Webhook profile %s is disabled; enable it first.", p.ID)
		}
	} else {
		list, err := s.Store.FindWebhookProfiles(ctx, scope)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(list, func(p *banklink.WebhookProfile) bool { return p.Enabled }) {
			return nil, banklink.Errorf(banklink.ECONFLICT, "There is no enabled webhook profile; create one with POST /webhooks/profiles.")
		}
	}
	ev := banklink.NewEvent(ctx, webhook.Test, webhook.Payload{})
	ev.ProfileID = profileID
	if err := s.Store.EmitEvents(ctx, scope, ev); err != nil {
		return nil, err
	}
	return ev, nil
}
