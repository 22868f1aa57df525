package sandbox

import (
	"context"
	"crypto/rand"
	"strings"

	"banklink"
)

var _ banklink.ProcessorTokenCreator = (*Provider)(nil)

// ProcessorTokenPrefix starts every sandbox processor token.
const ProcessorTokenPrefix = "processor-sandbox-"

// CreateProcessorToken implements banklink.ProcessorTokenCreator the way
// Plaid's sandbox does: a fresh random token for one of the login's
// accounts, for any processor. A login whose scenario broke it
// (user_reconnect) is refused as the provider would refuse it.
func (p *Provider) CreateProcessorToken(ctx context.Context, req banklink.ProcessorTokenRequest) (string, error) {
	if req.LoginID == "" || !strings.HasPrefix(req.ProviderAccountID, req.LoginID+"_acc") {
		return "", banklink.Errorf(banklink.ENOTFOUND, "The sandbox bank has no account %q for this login.", req.ProviderAccountID)
	}
	if strings.HasPrefix(req.LoginID, "sbx_rc_") {
		return "", &banklink.ProviderError{Reason: banklink.LoginInvalidCredentials, DisplayMessage: "The bank needs the customer to log in again."}
	}
	var b [18]byte
	rand.Read(b[:])
	return ProcessorTokenPrefix + banklink.EncodeBase58(b[:], 24), nil
}
