package httpapi

import (
	"net/http"

	"banklink"
	"banklink/internal/linking"
)

func (s *Server) handleConnectStart(w http.ResponseWriter, r *http.Request) error {
	key := apiKeyFrom(r.Context())
	var body linking.StartRequest
	unknown, err := s.decodeBody(w, r, &body)
	if err != nil {
		return err
	}
	resp, err := s.Linking.StartConnection(r.Context(), key.Scope(), &body)
	if err != nil {
		return err
	}
	resp.Warnings = append(unknownFieldWarnings(unknown), resp.Warnings...)
	writeJSON(w, http.StatusCreated, resp)
	return nil
}

// handleConnectRepair answers connect/repair with a token that reopens a
// broken connection's login (linking.Service.RepairConnection).
func (s *Server) handleConnectRepair(w http.ResponseWriter, r *http.Request) error {
	scope := apiKeyFrom(r.Context()).Scope()
	var body linking.RepairRequest
	unknown, err := s.decodeBody(w, r, &body)
	if err != nil {
		return err
	}
	resp, err := s.Linking.Repair(r.Context(), scope, &body)
	if err != nil {
		return err
	}
	resp.Warnings = append(unknownFieldWarnings(unknown), resp.Warnings...)
	writeJSON(w, http.StatusCreated, resp)
	return nil
}

// nonNilProducts renders an absent product list as [], as Meld does.
func nonNilProducts(p []banklink.Product) []banklink.Product {
	if p == nil {
		return []banklink.Product{}
	}
	return p
}

func setOf(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}
