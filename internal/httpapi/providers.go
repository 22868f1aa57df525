package httpapi

import (
	"net/http"
	"slices"
	"time"

	"banklink"
	"banklink/internal/linking"
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
	return serviceProviderJSON{ID: c.ID, ServiceProvider: banklink.ProviderWireName(c.ProviderType), DisplayOrder: c.DisplayOrder, Enabled: c.Enabled,
		Generation: c.Generation, CredentialKeys: keys, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// handlePutServiceProvider creates or updates the configuration of one
// provider for the key's account and environment.
func (s *Server) handlePutServiceProvider(w http.ResponseWriter, r *http.Request) error {
	scope := apiKeyFrom(r.Context()).Scope()
	provider := banklink.ProviderTypeOf(r.PathValue("provider"))
	if !slices.Contains(s.Config.Providers[scope.Environment], provider) {
		return banklink.Errorf(banklink.ENOTFOUND, "Service provider %s is not available for %s keys on this deployment.", truncate(banklink.ProviderWireName(provider), 40), scope.Environment)
	}
	var body linking.ServiceProviderInput
	if _, err := s.decodeBody(w, r, &body); err != nil {
		return err
	}
	c, created, err := s.Linking.PutServiceProvider(r.Context(), scope, provider, body)
	if err != nil {
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
	if err := s.Store.DeleteProviderConfig(r.Context(), apiKeyFrom(r.Context()).Scope(), banklink.ProviderTypeOf(r.PathValue("provider"))); err != nil {
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
		out = append(out, routingRuleJSON{InstitutionID: r.InstitutionID, ServiceProvider: banklink.ProviderWireName(r.ProviderType), Action: r.Action})
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
		Rules []linking.RoutingRuleInput `json:"rules"`
	}
	if _, err := s.decodeBody(w, r, &body); err != nil {
		return err
	}
	if body.Rules == nil {
		return banklink.FieldErrorf("rules", "must not be null; send [] to remove every rule")
	}
	rules, err := s.Linking.PutRoutingRules(r.Context(), scope, body.Rules)
	if err != nil {
		return err
	}
	s.writeRules(w, rules)
	return nil
}
