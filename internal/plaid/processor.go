package plaid

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"banklink"
)

var (
	_ banklink.ProcessorTokenCreator = (*Provider)(nil)
	_ banklink.LoginImporter         = (*Provider)(nil)
)

// processorName is Plaid's name of a Meld processor
// (/processor/token/create's enum): lower case, APEX being Plaid's
// apex_clearing.
func processorName(p banklink.Processor) string {
	if p == "APEX" {
		return "apex_clearing"
	}
	return strings.ToLower(string(p))
}

type processorTokenRequest struct {
	AccessToken string `json:"access_token"`
	AccountID   string `json:"account_id"`
	Processor   string `json:"processor,omitempty"`
}

// CreateProcessorToken implements banklink.ProcessorTokenCreator with
// /processor/token/create, or for STRIPE
// /processor/stripe/bank_account_token/create (Plaid serves Stripe with
// bank account tokens). Plaid has no endpoint revoking one processor
// token: only /item/remove, which ends the whole Item.
func (p *Provider) CreateProcessorToken(ctx context.Context, req banklink.ProcessorTokenRequest) (string, error) {
	ctx = withKeys(ctx, req.ProviderCredentials)
	token, err := p.accessToken(ctx, req.LoginID)
	if err != nil {
		return "", err
	}
	body := processorTokenRequest{AccessToken: token, AccountID: req.ProviderAccountID}
	if req.Processor == "STRIPE" {
		var resp struct {
			StripeBankAccountToken string `json:"stripe_bank_account_token"`
		}
		if err := p.call(ctx, "/processor/stripe/bank_account_token/create", body, &resp, maxResponse); err != nil {
			return "", mapError(err, phaseData)
		}
		if resp.StripeBankAccountToken == "" {
			return "", &banklink.Error{Code: banklink.EPROVIDER, Message: "Plaid answered without a Stripe bank account token."}
		}
		return resp.StripeBankAccountToken, nil
	}
	body.Processor = processorName(req.Processor)
	var resp struct {
		ProcessorToken string `json:"processor_token"`
	}
	if err := p.call(ctx, "/processor/token/create", body, &resp, maxResponse); err != nil {
		return "", mapError(err, phaseData)
	}
	if resp.ProcessorToken == "" {
		return "", &banklink.Error{Code: banklink.EPROVIDER, Message: "Plaid answered without a processor token."}
	}
	return resp.ProcessorToken, nil
}

// itemGetResponse is the part of /item/get's answer an import reads.
type itemGetResponse struct {
	Item struct {
		ItemID         string    `json:"item_id"`
		InstitutionID  *string   `json:"institution_id"`
		Error          *APIError `json:"error"`
		Products       []string  `json:"products"`
		BilledProducts []string  `json:"billed_products"`
	} `json:"item"`
}

// bankLinkingProducts maps an Item's Plaid products to banklink's:
// BALANCES always (every Item has balances), then what each product
// serves (the inverse of plaidProducts).
func bankLinkingProducts(plaidProducts []string) []banklink.Product {
	out := []banklink.Product{banklink.Balances}
	add := func(ps ...banklink.Product) {
		for _, p := range ps {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	for _, p := range plaidProducts {
		switch p {
		case "auth":
			add(banklink.Identifiers)
		case "identity":
			add(banklink.Owners)
		case "transactions":
			add(banklink.Transactions)
		case "investments":
			add(banklink.InvestmentHoldings, banklink.InvestmentTransactions)
		}
	}
	return out
}

// CheckLogin implements banklink.LoginImporter: /item/get with the app's
// access token must answer for the Item named, without an Item error.
// Nothing is stored.
func (p *Provider) CheckLogin(ctx context.Context, req banklink.ImportLoginRequest) (*banklink.ImportedLogin, error) {
	if strings.TrimSpace(req.AccessToken) == "" || strings.TrimSpace(req.LoginID) == "" {
		return nil, banklink.Errorf(banklink.EBADREQUEST, "A Plaid import needs the Item's accessToken and itemId.")
	}
	ctx = withKeys(ctx, req.ProviderCredentials)
	var resp itemGetResponse
	if err := p.call(ctx, "/item/get", struct {
		AccessToken string `json:"access_token"`
	}{req.AccessToken}, &resp, maxResponse); err != nil {
		if codeOf(err) == "INVALID_ACCESS_TOKEN" || codeOf(err) == "ITEM_NOT_FOUND" {
			return nil, &banklink.Error{Code: banklink.EBADREQUEST, Reason: codeOf(err),
				Message: "Plaid does not accept this access token (" + codeOf(err) + "): it was removed, rotated or belongs to other API keys."}
		}
		return nil, mapError(err, phaseData)
	}
	it := resp.Item
	if it.ItemID != req.LoginID {
		return nil, banklink.Errorf(banklink.EBADREQUEST, "The access token belongs to another Item than %s.", truncate(req.LoginID, 60))
	}
	if it.Error != nil && it.Error.ErrorCode != "" {
		return nil, &banklink.Error{Code: banklink.ECONFLICT, Reason: it.Error.ErrorCode,
			Message: fmt.Sprintf("The Item is in error at Plaid (%s); have its user fix it in Link's update mode, then import it.", it.Error.ErrorCode)}
	}
	out := &banklink.ImportedLogin{LoginID: it.ItemID, Products: bankLinkingProducts(slices.Concat(it.Products, it.BilledProducts))}
	if it.InstitutionID != nil {
		out.ProviderInstitutionID = *it.InstitutionID
	}
	return out, nil
}

// AdoptLogin implements banklink.LoginImporter: the access token is kept
// (sealed) as for an Item banklink linked itself, and the Item's webhooks
// are re-pointed to banklink's receiver (/item/webhook/update) when one
// is configured.
func (p *Provider) AdoptLogin(ctx context.Context, req banklink.ImportLoginRequest) error {
	ctx = withKeys(ctx, req.ProviderCredentials)
	if err := p.saveAccessToken(ctx, req.LoginID, req.AccessToken); err != nil {
		return err
	}
	if p.cfg.WebhookURL == "" {
		return nil
	}
	var resp struct{}
	if err := p.call(ctx, "/item/webhook/update", struct {
		AccessToken string `json:"access_token"`
		Webhook     string `json:"webhook"`
	}{req.AccessToken, p.cfg.WebhookURL}, &resp, maxResponse); err != nil {
		return mapError(err, phaseData)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
