package mx

import (
	"context"
	"net/url"
	"strings"

	"banklink"
	"banklink/internal/dirsync"
)

// institution is MX's InstitutionResponse.
type institution struct {
	Code                          string  `json:"code"`
	Name                          *string `json:"name"`
	URL                           *string `json:"url"`
	ISOCountryCode                *string `json:"iso_country_code"`
	SmallLogoURL                  *string `json:"small_logo_url"`
	MediumLogoURL                 *string `json:"medium_logo_url"`
	IsDisabledByClient            *bool   `json:"is_disabled_by_client"`
	SupportsAccountIdentification *bool   `json:"supports_account_identification"`
	SupportsAccountVerification   *bool   `json:"supports_account_verification"`
	SupportsTransactionHistory    *bool   `json:"supports_transaction_history"`
	SupportsOAuth                 *bool   `json:"supports_oauth"`
}

// Institutions pages through MX's institution list (GET /institutions,
// 100 a page, the most it takes) and returns it as banklink institutions, each with
// Providers["mx"] set and without an ID or Key, for the directory to
// merge. Institutions the client disabled are left out.
//
// Products follow MX's flags: standard aggregation gives BALANCES,
// TRANSACTIONS and INVESTMENT_HOLDINGS (MX gathers "account, transaction,
// and holding data"; the list has no per-institution flag for them);
// supports_account_identification adds OWNERS,
// supports_account_verification IDENTIFIERS and
// supports_transaction_history (extended history, up to 24 months)
// HISTORICAL_TRANSACTIONS.
//
// Every MX institution is marked Redirect, whether or not
// supports_oauth: banklink's MX logins always leave banklink for MX
// Connect, so an app that disallows redirect logins must not be routed to
// MX. MX's list reports no institution health: HEALTHY.
func (p *Provider) Institutions(ctx context.Context) ([]*banklink.Institution, error) {
	list, err := listAll[institution](ctx, p, p.keysFor(nil), "/institutions", "institutions", nil)
	if err != nil {
		return nil, mapError(err, phaseData, p.cfg.Now())
	}
	out := make([]*banklink.Institution, 0, len(list))
	for _, in := range list {
		if in.Code == "" || deref(in.IsDisabledByClient) {
			continue
		}
		out = append(out, mapInstitution(in))
	}
	return out, nil
}

func mapInstitution(in institution) *banklink.Institution {
	ps := banklink.NewProductSet(banklink.Balances, banklink.Transactions, banklink.InvestmentHoldings)
	if deref(in.SupportsAccountIdentification) {
		ps |= banklink.NewProductSet(banklink.Owners)
	}
	if deref(in.SupportsAccountVerification) {
		ps |= banklink.NewProductSet(banklink.Identifiers)
	}
	if deref(in.SupportsTransactionHistory) {
		ps |= banklink.NewProductSet(banklink.HistoricalTransactions)
	}
	name := strings.TrimSpace(deref(in.Name))
	out := &banklink.Institution{
		Name: name, Type: institutionType(name),
		// MX's list has logo URLs on its CDN, and neither a brand colour
		// nor routing numbers.
		Images: banklink.InstitutionImages{Icon: dirsync.LogoURL(deref(in.SmallLogoURL)), Tile: dirsync.LogoURL(deref(in.MediumLogoURL))},
		Providers: map[string]banklink.ProviderInstitution{ProviderType: {
			ProviderInstitutionID: in.Code, Products: ps.Slice(), Redirect: true, NoFrame: deref(in.SupportsOAuth), Health: banklink.HealthHealthy,
		}},
	}
	if c := strings.ToUpper(strings.TrimSpace(deref(in.ISOCountryCode))); c != "" {
		out.Regions = []banklink.Region{banklink.Region(c)}
	}
	if u, err := url.Parse(strings.TrimSpace(deref(in.URL))); err == nil && u.Hostname() != "" {
		out.Domain = strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	}
	return out
}

// institutionType guesses banklink's institution type from the name; MX's
// list does not report one.
func institutionType(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.Contains(n, "credit union") || strings.Contains(n, "caisse"):
		return banklink.InstitutionCreditUnion
	case strings.Contains(n, "brokerage") || strings.Contains(n, "securities") || strings.Contains(n, "investments"):
		return banklink.InstitutionBrokerage
	}
	return banklink.InstitutionBank
}
