package httpapi

import (
	"net/http"
	"time"

	"banklink"
	"banklink/internal/linking"
)

// appProfileJSON is an app profile on the wire: every field always
// present, "" when not set, updatedAt null until the first save.
type appProfileJSON struct {
	DisplayName      string  `json:"displayName"`
	LogoURL          string  `json:"logoUrl"`
	PrivacyPolicyURL string  `json:"privacyPolicyUrl"`
	BrandColor       string  `json:"brandColor"`
	UpdatedAt        *string `json:"updatedAt"`
}

func toAppProfileJSON(p *banklink.AppProfile) appProfileJSON {
	out := appProfileJSON{DisplayName: p.DisplayName, LogoURL: p.LogoURL, PrivacyPolicyURL: p.PrivacyPolicyURL, BrandColor: p.BrandColor}
	if !p.UpdatedAt.IsZero() {
		t := p.UpdatedAt.UTC().Format(time.RFC3339)
		out.UpdatedAt = &t
	}
	return out
}

// handleGetAppProfile answers the key's app profile: how the Connect
// Widget presents the app to its customers.
func (s *Server) handleGetAppProfile(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Store.FindAppProfile(r.Context(), apiKeyFrom(r.Context()).Scope())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAppProfileJSON(p))
	return nil
}

// handleUpdateAppProfile changes the fields the body names. An unknown
// field is refused rather than ignored: a misspelt "privacyPolicyURL"
// would otherwise leave the consent screen without the link the app
// meant to show.
func (s *Server) handleUpdateAppProfile(w http.ResponseWriter, r *http.Request) error {
	var body linking.AppProfileInput
	unknown, err := s.decodeBody(w, r, &body)
	if err != nil {
		return err
	}
	if len(unknown) > 0 {
		return banklink.FieldErrorf(unknown[0], "is not a field of the app profile (displayName, logoUrl, privacyPolicyUrl, brandColor)")
	}
	p, err := s.Linking.UpdateAppProfile(r.Context(), apiKeyFrom(r.Context()).Scope(), body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAppProfileJSON(p))
	return nil
}
