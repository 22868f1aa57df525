package plaid

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"

	"banklink"
	"banklink/internal/dirsync"
)

type plaidInstitution struct {
	InstitutionID string   `json:"institution_id"`
	Name          string   `json:"name"`
	Products      []string `json:"products"`
	CountryCodes  []string `json:"country_codes"`
	URL           *string  `json:"url"`
	OAuth         bool     `json:"oauth"`
	// With include_optional_metadata: a 152×152 PNG in base64, the brand
	// colour, and the routing numbers Plaid knows for the institution.
	Logo           *string  `json:"logo"`
	PrimaryColor   *string  `json:"primary_color"`
	RoutingNumbers []string `json:"routing_numbers"`
	Status         *struct {
		ItemLogins          *productStatus `json:"item_logins"`
		TransactionsUpdates *productStatus `json:"transactions_updates"`
		Auth                *productStatus `json:"auth"`
		Identity            *productStatus `json:"identity"`
		InvestmentsUpdates  *productStatus `json:"investments_updates"`
		Investments         *productStatus `json:"investments"`
	} `json:"status"`
}

type productStatus struct {
	Status string `json:"status"`
}

// institutionsPageSize is the most /institutions/get returns at once.
const institutionsPageSize = 500

// Institutions pages through /institutions/get for the configured
// countries and returns Plaid's directory as banklink institutions, each
// with Providers["plaid"] set and without an ID or Key (see
// internal/dirsync, which merges them into the directory).
//
// Every Plaid institution is marked Redirect: banklink's Plaid logins
// always go through Plaid's Hosted Link page, so an app that disallows
// redirect logins must not be routed to Plaid, whether or not the bank
// itself uses OAuth. Plaid reports institution status only from
// /institutions/get_by_id (see InstitutionHealth); Health is HEALTHY
// unless a status came with the institution.
//
// Routing numbers are kept (those passing the ABA checksum), so that a
// customer may search by one, and so are the brand colour and the logo:
// Plaid's base64 PNGs (a few kilobytes each, at most
// dirsync.MaxInlineLogo) are stored as data URLs with the institution,
// and search.Live keeps them out of the in-memory directory; the widget
// serves them from the store.
func (p *Provider) Institutions(ctx context.Context) ([]*banklink.Institution, error) {
	type options struct {
		IncludeOptionalMetadata bool `json:"include_optional_metadata"`
	}
	type request struct {
		Count        int      `json:"count"`
		Offset       int      `json:"offset"`
		CountryCodes []string `json:"country_codes"`
		Options      options  `json:"options"`
	}
	var out []*banklink.Institution
	offset := 0
	for {
		var resp struct {
			Institutions []plaidInstitution `json:"institutions"`
			Total        int                `json:"total"`
		}
		// During the directory sync a page Plaid turns down for now
		// (rate limit, outage) is read again (dirsync.Page).
		err := dirsync.Page(ctx, func() error {
			return mapError(p.call(ctx, "/institutions/get", request{Count: institutionsPageSize, Offset: offset, CountryCodes: p.cfg.CountryCodes,
				Options: options{IncludeOptionalMetadata: true}}, &resp, maxInstitutionsResponse), phaseData)
		})
		if err != nil {
			return nil, err
		}
		for _, in := range resp.Institutions {
			out = append(out, mapInstitution(in))
		}
		offset += len(resp.Institutions)
		if len(resp.Institutions) == 0 || offset >= resp.Total {
			return out, nil
		}
	}
}

// InstitutionHealth returns the health of a Plaid institution from
// /institutions/get_by_id with include_status (Plaid computes no status
// in its Sandbox and then answers null: HEALTHY).
func (p *Provider) InstitutionHealth(ctx context.Context, institutionID string) (string, error) {
	type options struct {
		IncludeStatus bool `json:"include_status"`
	}
	var resp struct {
		Institution plaidInstitution `json:"institution"`
	}
	err := p.call(ctx, "/institutions/get_by_id", struct {
		InstitutionID string   `json:"institution_id"`
		CountryCodes  []string `json:"country_codes"`
		Options       options  `json:"options"`
	}{institutionID, p.cfg.CountryCodes, options{true}}, &resp, maxResponse)
	if err != nil {
		return "", mapError(err, phaseData)
	}
	return health(resp.Institution), nil
}

// Plaid product names and the banklink products they give.
var productsOf = map[string][]banklink.Product{
	"balance":      {banklink.Balances},
	"auth":         {banklink.Balances, banklink.Identifiers},
	"identity":     {banklink.Balances, banklink.Owners},
	"transactions": {banklink.Balances, banklink.Transactions, banklink.HistoricalTransactions},
	"investments":  {banklink.Balances, banklink.InvestmentHoldings, banklink.InvestmentTransactions},
}

func mapInstitution(in plaidInstitution) *banklink.Institution {
	var ps banklink.ProductSet
	for _, name := range in.Products {
		ps |= banklink.NewProductSet(productsOf[name]...)
	}
	out := &banklink.Institution{
		Name: strings.TrimSpace(in.Name), Type: institutionType(in.Name, ps),
		Providers: map[string]banklink.ProviderInstitution{ProviderType: {
			ProviderInstitutionID: in.InstitutionID, Products: ps.Slice(), Redirect: true, NoFrame: in.OAuth, Health: health(in),
		}},
	}
	out.RoutingNumbers = dirsync.RoutingNumbers(in.RoutingNumbers)
	if in.Logo != nil {
		out.Images.Icon = dirsync.InlineLogo(*in.Logo)
	}
	if in.PrimaryColor != nil {
		out.Images.Color = dirsync.Color(*in.PrimaryColor)
	}
	for _, c := range in.CountryCodes {
		if r := banklink.Region(strings.ToUpper(c)); !slices.Contains(out.Regions, r) {
			out.Regions = append(out.Regions, r)
		}
	}
	if in.URL != nil {
		if u, err := url.Parse(*in.URL); err == nil && u.Hostname() != "" {
			out.Domain = strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
		}
	}
	return out
}

// institutionType guesses banklink's institution type, which Plaid does not
// report.
func institutionType(name string, ps banklink.ProductSet) string {
	n := strings.ToLower(name)
	switch {
	case strings.Contains(n, "credit union") || strings.Contains(n, "caisse"):
		return banklink.InstitutionCreditUnion
	case ps.Has(banklink.InvestmentHoldings) && !ps.Has(banklink.Transactions) && !ps.Has(banklink.Identifiers):
		return banklink.InstitutionBrokerage
	}
	return banklink.InstitutionBank
}

// health summarises Plaid's institution status: DOWN when Item logins are
// down (nothing can be linked), otherwise the worst status of the products
// banklink uses, at most DEGRADED.
func health(in plaidInstitution) string {
	s := in.Status
	if s == nil {
		return banklink.HealthHealthy
	}
	if s.ItemLogins != nil && s.ItemLogins.Status == "DOWN" {
		return banklink.HealthDown
	}
	for _, ps := range []*productStatus{s.ItemLogins, s.TransactionsUpdates, s.Auth, s.Identity, s.InvestmentsUpdates, s.Investments} {
		if ps != nil && (ps.Status == "DEGRADED" || ps.Status == "DOWN") {
			return banklink.HealthDegraded
		}
	}
	return banklink.HealthHealthy
}

// RemoveItem removes a Plaid Item (/item/remove), for a deleted
// connection: Plaid stops billing for it and its access token stops
// working. An Item Plaid no longer knows counts as removed. The stored
// access token stays in the SecretStore, which cannot delete; it is
// useless once the Item is gone.
func (p *Provider) RemoveItem(ctx context.Context, itemID string) error {
	token, err := p.accessToken(ctx, itemID)
	if err != nil {
		if _, ok := errors.AsType[*banklink.ProviderError](err); ok {
			// No token recorded: nothing banklink can remove.
			return nil
		}
		return err
	}
	var resp struct {
		RequestID string `json:"request_id"`
	}
	err = p.call(ctx, "/item/remove", struct {
		AccessToken string `json:"access_token"`
	}{token}, &resp, maxResponse)
	switch codeOf(err) {
	case "INVALID_ACCESS_TOKEN", "ITEM_NOT_FOUND":
		return nil
	}
	if err != nil {
		return mapError(err, phaseData)
	}
	return nil
}

// removeWithToken removes an Item banklink could not keep; failures are
// ignored (the caller is already failing).
func (p *Provider) removeWithToken(ctx context.Context, token string) {
	var resp struct{}
	_ = p.call(context.WithoutCancel(ctx), "/item/remove", struct {
		AccessToken string `json:"access_token"`
	}{token}, &resp, maxResponse)
}

// RemoveLogin implements banklink.LoginRemover, with the account's keys
// when the Item was linked with them.
func (p *Provider) RemoveLogin(ctx context.Context, loginID string, credentials map[string]string) error {
	return p.RemoveItem(withKeys(ctx, credentials), loginID)
}
