package finicity

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"banklink"
	"banklink/internal/dirsync"
)

// institution is the spec's Institution.
type institution struct {
	ID                     int64   `json:"id"`
	Name                   *string `json:"name"`
	TransAgg               bool    `json:"transAgg"`
	ACH                    bool    `json:"ach"`
	AccountOwner           bool    `json:"accountOwner"`
	OAuthEnabled           bool    `json:"oauthEnabled"`
	AccountTypeDescription *string `json:"accountTypeDescription"`
	URLHomeApp             *string `json:"urlHomeApp"`
	Status                 *string `json:"status"`
	Address                *struct {
		Country *string `json:"country"`
	} `json:"address"`
	Branding *struct {
		Logo         *string `json:"logo"`
		Icon         *string `json:"icon"`
		Tile         *string `json:"tile"`
		PrimaryColor *string `json:"primaryColor"`
	} `json:"branding"`
}

// Institutions pages through Finicity's institution list (GET
// /institution/v2/institutions, start is the page, 1000 a page, the most
// a page holds) and returns it as banklink institutions, each with
// Providers["finicity"] set and without an ID or Key, for the directory
// to merge. A page Finicity turns down for now (429, 5xx) is read again
// inside dirsync.Fetch.
//
// Products follow Finicity's flags: transAgg (transaction aggregation)
// gives BALANCES and TRANSACTIONS, and the investment products where
// accountTypeDescription names investments; ach gives IDENTIFIERS and
// accountOwner OWNERS. Institutions without transAgg are left out:
// banklink links for aggregation.
//
// Every institution is marked Redirect: banklink's Finicity logins
// always happen in Data Connect, so an app that disallows redirect
// logins must not be routed to Finicity. status maps to health: online,
// beta, validated and testing are HEALTHY (testing ones are test
// institutions, FinBank), maintenance and offline DOWN, migrating
// DEGRADED.
func (p *Provider) Institutions(ctx context.Context) ([]*banklink.Institution, error) {
	k := p.keysFor(nil)
	var out []*banklink.Institution
	for page := 1; ; page++ {
		q := url.Values{"start": {strconv.Itoa(page)}, "limit": {strconv.Itoa(institutionsPageSize)}}
		var resp struct {
			MoreAvailable bool          `json:"moreAvailable"`
			Institutions  []institution `json:"institutions"`
		}
		err := dirsync.Page(ctx, func() error {
			_, err := p.call(ctx, k, http.MethodGet, "/institution/v2/institutions", q, nil, &resp)
			return mapError(err, phaseData, p.cfg.Now())
		})
		if err != nil {
			return nil, err
		}
		for _, in := range resp.Institutions {
			if m := mapInstitution(in); m != nil {
				out = append(out, m)
			}
		}
		if !resp.MoreAvailable || len(resp.Institutions) == 0 {
			return out, nil
		}
	}
}

// institutionHealth maps an institution's status.
var institutionHealth = map[string]string{
	"online": banklink.HealthHealthy, "beta": banklink.HealthHealthy, "validated": banklink.HealthHealthy, "testing": banklink.HealthHealthy,
	"maintenance": banklink.HealthDown, "offline": banklink.HealthDown, "migrating": banklink.HealthDegraded,
}

func mapInstitution(in institution) *banklink.Institution {
	name := strings.TrimSpace(deref(in.Name))
	if in.ID <= 0 || name == "" || !in.TransAgg {
		return nil
	}
	ps := banklink.NewProductSet(banklink.Balances, banklink.Transactions)
	if strings.Contains(strings.ToLower(deref(in.AccountTypeDescription)), "investment") {
		ps |= banklink.NewProductSet(banklink.InvestmentHoldings, banklink.InvestmentTransactions)
	}
	if in.ACH {
		ps |= banklink.NewProductSet(banklink.Identifiers)
	}
	if in.AccountOwner {
		ps |= banklink.NewProductSet(banklink.Owners)
	}
	status := strings.ToLower(strings.TrimSpace(deref(in.Status)))
	health, ok := institutionHealth[status]
	if !ok {
		health = banklink.HealthHealthy
	}
	out := &banklink.Institution{
		Name: name, Type: institutionType(name), IsTest: status == "testing",
		Providers: map[string]banklink.ProviderInstitution{ProviderType: {
			ProviderInstitutionID: strconv.FormatInt(in.ID, 10), Products: ps.Slice(), Redirect: true, NoFrame: in.OAuthEnabled, Health: health,
		}},
		Regions: []banklink.Region{"US"},
	}
	if b := in.Branding; b != nil {
		// Finicity's branding is SVGs on its CDN (the icon drawn for 40×40
		// search results); the widget fetches them on the server.
		// Finicity's list has no routing numbers (it looks one up with a
		// call of its own, GET /institution/v1/institutions/routingNumber).
		out.Images = banklink.InstitutionImages{Icon: dirsync.LogoURL(deref(b.Icon)), Tile: dirsync.LogoURL(deref(b.Tile)),
			Wide: dirsync.LogoURL(deref(b.Logo)), Color: dirsync.Color(deref(b.PrimaryColor))}
	}
	if in.Address != nil {
		switch c := strings.ToUpper(strings.TrimSpace(deref(in.Address.Country))); c {
		case "CA", "CAN", "CANADA":
			out.Regions = []banklink.Region{"CA"}
		}
	}
	if u, err := url.Parse(strings.TrimSpace(deref(in.URLHomeApp))); err == nil && u.Hostname() != "" {
		out.Domain = strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	}
	return out
}

// institutionType guesses banklink's institution type from the name;
// Finicity's list does not report one.
func institutionType(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.Contains(n, "credit union"):
		return banklink.InstitutionCreditUnion
	case strings.Contains(n, "brokerage") || strings.Contains(n, "securities") || strings.Contains(n, "investments"):
		return banklink.InstitutionBrokerage
	}
	return banklink.InstitutionBank
}
