package linking

import (
	"context"
	"slices"
	"time"

	"banklink"
)

// AppProfileInput is the body of PATCH /bank-linking/app-profile (and
// the dashboard's form): nil leaves a field as it is, "" clears it.
type AppProfileInput struct {
	DisplayName      *string `json:"displayName"`
	LogoURL          *string `json:"logoUrl"`
	PrivacyPolicyURL *string `json:"privacyPolicyUrl"`
	BrandColor       *string `json:"brandColor"`
}

// UpdateAppProfile applies in to scope's app profile, validated as a
// whole (every field's error names it), and saves it.
func (s *Service) UpdateAppProfile(ctx context.Context, scope banklink.Scope, in AppProfileInput) (*banklink.AppProfile, error) {
	p, err := s.Store.FindAppProfile(ctx, scope)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		in  *string
		out *string
	}{{in.DisplayName, &p.DisplayName}, {in.LogoURL, &p.LogoURL}, {in.PrivacyPolicyURL, &p.PrivacyPolicyURL}, {in.BrandColor, &p.BrandColor}} {
		if f.in != nil {
			*f.out = *f.in
		}
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p.UpdatedAt = s.now()
	if err := s.Store.SaveAppProfile(ctx, scope, p); err != nil {
		return nil, err
	}
	return p, nil
}

// MaxDeclined bounds the products one consent may decline (there are six).
const MaxDeclined = 16

// NewConsent checks a customer's answer on the widget's consent screen
// for conn: they may decline only the connection's optional products
// (the required ones are the reason the app asked; declining those is
// closing the widget), each at most once.
func NewConsent(conn *banklink.Connection, declined []string, at time.Time) (*banklink.Consent, error) {
	if len(declined) > MaxDeclined {
		return nil, banklink.FieldErrorf("declinedProducts", "must list at most %d products", MaxDeclined)
	}
	c := &banklink.Consent{At: at}
	for i, d := range declined {
		p := banklink.Product(d)
		switch {
		case slices.Contains(conn.Products, p):
			return nil, banklink.FieldErrorf("declinedProducts", "%s is required by this app and cannot be declined", truncate(d, 40))
		case !slices.Contains(conn.OptionalProducts, p):
			return nil, banklink.FieldErrorf("declinedProducts", "item %d (%q) is not one of this link's optional products %v", i, truncate(d, 40), conn.OptionalProducts)
		case slices.Contains(c.Declined, p):
			return nil, banklink.FieldErrorf("declinedProducts", "lists %s twice", d)
		}
		c.Declined = append(c.Declined, p)
	}
	return c, nil
}
