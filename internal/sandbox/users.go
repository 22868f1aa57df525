package sandbox

import (
	"context"
	"crypto/sha256"
	"strings"

	"banklink"
)

// DefaultClientID is sandbox-b's client id when an account has not
// configured its own credentials.
const DefaultClientID = "sandbox-b-default"

// LoginUnknownUser is sandbox-b's failure when a login names a user its
// client does not have: what reusing a provider user across credentials
// (the "disable and re-enable a provider" pitfall) runs into.
const LoginUnknownUser = "PROVIDER_USER_NOT_FOUND"

var _ banklink.UserProvisioner = (*Provider)(nil)

// CredentialKeys implements banklink.CredentialKeyer: sandbox-b takes a
// client id and a secret (it checks neither; the client id keeps its
// users apart), the first sandbox nothing.
func (p *Provider) CredentialKeys() []string {
	if p.Type() != ProviderTypeB {
		return []string{}
	}
	return []string{"clientId", "secret"}
}

func clientOf(creds map[string]string) string {
	if id := strings.TrimSpace(creds["clientId"]); id != "" {
		return id
	}
	return DefaultClientID
}

func tag(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return banklink.EncodeBase58(sum[:8], 11)[:n]
}

// CreateUser implements banklink.UserProvisioner. sandbox-b keeps users per
// client: the id is derived from the client and the app's customer id, so
// the same customer under other credentials is another user.
func (p *Provider) CreateUser(ctx context.Context, creds map[string]string, externalCustomerID string) (string, error) {
	if p.Type() != ProviderTypeB {
		return "", nil // the first sandbox has no users
	}
	if creds != nil && strings.TrimSpace(creds["secret"]) == "" {
		return "", &banklink.ProviderError{Reason: banklink.LoginProviderDown, DisplayMessage: "This provider is misconfigured; please try again later."}
	}
	client := clientOf(creds)
	return "sbbu_" + tag(client, 6) + "_" + tag(client+"\x00"+externalCustomerID, 10), nil
}

// checkUser refuses a login whose provider user belongs to another client.
func (p *Provider) checkUser(req banklink.LoginRequest) error {
	if p.Type() != ProviderTypeB {
		return nil
	}
	if !strings.HasPrefix(req.ProviderUserID, "sbbu_"+tag(clientOf(req.ProviderCredentials), 6)+"_") {
		return &banklink.ProviderError{Reason: LoginUnknownUser,
			DisplayMessage: "Error creating user: this customer is not known to the provider. Please try again later."}
	}
	return nil
}
