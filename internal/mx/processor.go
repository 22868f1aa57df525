package mx

import (
	"context"
	"net/http"

	"banklink"
)

var _ banklink.ProcessorTokenCreator = (*Provider)(nil)

// CreateProcessorToken implements banklink.ProcessorTokenCreator with MX's
// processor token flow: POST /authorization_code, scoped to the login's
// user and member and the one account, with read-protected access (the
// account and routing numbers). The code is what the processor exchanges
// at MX for its own access token; MX's authorisation is the same for
// every processor. MX's spec has no endpoint revoking a code or the
// token it becomes: deleting the member ends the processor's access.
func (p *Provider) CreateProcessorToken(ctx context.Context, req banklink.ProcessorTokenRequest) (string, error) {
	userGUID, memberGUID, err := parseLoginID(req.LoginID)
	if err != nil {
		return "", err
	}
	if req.ProviderAccountID == "" {
		return "", banklink.Errorf(banklink.EBADREQUEST, "An MX processor token needs the account's guid.")
	}
	scope := "user-guid:" + userGUID + " member-guid:" + memberGUID + " account-guid:" + req.ProviderAccountID + " read-protected"
	type scoped struct {
		Scope string `json:"scope"`
	}
	var resp struct {
		AuthorizationCode struct {
			Code *string `json:"code"`
		} `json:"authorization_code"`
	}
	_, err = p.call(ctx, p.keysFor(req.ProviderCredentials), http.MethodPost, "/authorization_code", nil,
		struct {
			AuthorizationCode scoped `json:"authorization_code"`
		}{scoped{scope}}, &resp)
	if err != nil {
		return "", mapError(err, phaseData, p.cfg.Now())
	}
	if resp.AuthorizationCode.Code == nil || *resp.AuthorizationCode.Code == "" {
		return "", &banklink.Error{Code: banklink.EPROVIDER, Message: "MX answered without an authorization code."}
	}
	return *resp.AuthorizationCode.Code, nil
}
