package httpapi

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"banklink"
)

// serviceProviderJSON is a provider configuration on the wire. Credentials
// are write-only: responses name the credential fields that are set,
// never their values.
type serviceProviderJSON struct {
	ID              string    `json:"id"`
	ServiceProvider string    `json:"serviceProvider"`
	DisplayOrder    int       `json:"displayOrder"`
	Enabled         bool      `json:"enabled"`
	Generation      int       `json:"generation"`
	CredentialKeys  []string  `json:"credentialKeys"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

func serviceProviderOut(c *banklink.ProviderConfig) serviceProviderJSON {
	keys := []string{}
	for k := range c.Credentials {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return serviceProviderJSON{ID: c.ID, ServiceProvider: ProviderWireName(c.ProviderType), DisplayOrder: c.DisplayOrder, Enabled: c.Enabled,
		Generation: c.Generation, CredentialKeys: keys, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// Credential limits.
const (
	maxCredentials       = 16
	maxCredentialKeyLen  = 64
	maxCredentialValLen  = 4096
	maxRoutingRules      = 1000
	routingActionForce   = "FORCE"
	routingActionExclude = "EXCLUDE"
)

// handlePutServiceProvider creates or updates the configuration of one
// provider for the key's account and environment.
func (s *Server) handlePutServiceProvider(w http.ResponseWriter, r *http.Request) error {
	scope := apiKeyFrom(r.Context()).Scope()
	provider := providerTypeOf(r.PathValue("provider"))
	if !slices.Contains(s.Config.Providers[scope.Environment], provider) {
		return banklink.Errorf(banklink.ENOTFOUND, "Service provider %s is not available for %s keys on this deployment.", truncate(ProviderWireName(provider), 40), scope.Environment)
	}
	var body struct {
		DisplayOrder *int              `json:"displayOrder"`
		Enabled      *bool             `json:"enabled"`
		Credentials  map[string]string `json:"credentials"`
	}
	if _, err := s.decodeBody(w, r, &body); err != nil {
		return err
	}
	if len(body.Credentials) > maxCredentials {
		return banklink.FieldErrorf("credentials", "must have at most %d fields", maxCredentials)
	}
	for k, v := range body.Credentials {
		if k == "" || len(k) > maxCredentialKeyLen || strings.ContainsFunc(k, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
			return banklink.FieldErrorf("credentials", "field names must be 1 to %d printable ASCII characters", maxCredentialKeyLen)
		}
		if v == "" || len(v) > maxCredentialValLen {
			return banklink.FieldErrorf("credentials", "field %q must have a value of 1 to %d bytes", k, maxCredentialValLen)
		}
	}
	c := &banklink.ProviderConfig{AccountID: scope.AccountID, Environment: scope.Environment, ProviderType: provider, Enabled: true,
		Credentials: body.Credentials}
	existing, err := s.Store.FindProviderConfigs(r.Context(), scope)
	if err != nil {
		return err
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
	if body.DisplayOrder != nil {
		if *body.DisplayOrder < 0 || *body.DisplayOrder > 1000 {
			return banklink.FieldErrorf("displayOrder", "must be from 0 to 1000")
		}
		c.DisplayOrder = *body.DisplayOrder
	}
	if body.Enabled != nil {
		c.Enabled = *body.Enabled
	}
	if err := s.Store.SaveProviderConfig(r.Context(), c); err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, serviceProviderOut(c))
	return nil
}

func (s *Server) handleSearchServiceProviders(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Store.FindProviderConfigs(r.Context(), apiKeyFrom(r.Context()).Scope())
	if err != nil {
		return err
	}
	writeList(w, "serviceProviders", list, 0, serviceProviderOut)
	return nil
}

func (s *Server) handleDeleteServiceProvider(w http.ResponseWriter, r *http.Request) error {
	if err := s.Store.DeleteProviderConfig(r.Context(), apiKeyFrom(r.Context()).Scope(), providerTypeOf(r.PathValue("provider"))); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"requestId": requestIDFrom(r.Context())})
	return nil
}

type routingRuleJSON struct {
	InstitutionID   string `json:"institutionId"`
	ServiceProvider string `json:"serviceProvider"`
	Action          string `json:"action"`
}

func (s *Server) writeRules(w http.ResponseWriter, rules []banklink.RoutingRule) {
	out := []routingRuleJSON{}
	for _, r := range rules {
		out = append(out, routingRuleJSON{InstitutionID: r.InstitutionID, ServiceProvider: ProviderWireName(r.ProviderType), Action: r.Action})
	}
	writeJSON(w, http.StatusOK, map[string]any{"rules": out})
}

func (s *Server) handleGetRoutingRules(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.Store.FindRoutingRules(r.Context(), apiKeyFrom(r.Context()).Scope())
	if err != nil {
		return err
	}
	s.writeRules(w, rules)
	return nil
}

// handlePutRoutingRules replaces the per-institution rules applied on top
// of the waterfall.
func (s *Server) handlePutRoutingRules(w http.ResponseWriter, r *http.Request) error {
	scope := apiKeyFrom(r.Context()).Scope()
	var body struct {
		Rules []routingRuleJSON `json:"rules"`
	}
	if _, err := s.decodeBody(w, r, &body); err != nil {
		return err
	}
	if body.Rules == nil {
		return banklink.FieldErrorf("rules", "must not be null; send [] to remove every rule")
	}
	if len(body.Rules) > maxRoutingRules {
		return banklink.FieldErrorf("rules", "must have at most %d rules", maxRoutingRules)
	}
	ix := s.Directory.Current()
	var rules []banklink.RoutingRule
	for i, rule := range body.Rules {
		if _, ok := ix.ByID(rule.InstitutionID); !ok {
			return banklink.FieldErrorf("rules", "rule %d names institution %q, which does not exist", i, truncate(rule.InstitutionID, 40))
		}
		p := providerTypeOf(rule.ServiceProvider)
		if !slices.Contains(s.Config.Providers[scope.Environment], p) {
			return banklink.FieldErrorf("rules", "rule %d names service provider %q, which is not available for %s keys", i, truncate(rule.ServiceProvider, 40), scope.Environment)
		}
		if rule.Action != routingActionForce && rule.Action != routingActionExclude {
			return banklink.FieldErrorf("rules", "rule %d: action must be FORCE or EXCLUDE", i)
		}
		rules = append(rules, banklink.RoutingRule{InstitutionID: rule.InstitutionID, ProviderType: p, Action: rule.Action})
	}
	if err := s.Store.SetRoutingRules(r.Context(), scope, rules); err != nil {
		return err
	}
	s.writeRules(w, rules)
	return nil
}
