package plaid

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"banklink"
)

// banklink.SecretStore has one operation, EnsureSecret(name, value): it
// stores value unless the name exists and returns what is stored, the
// first write winning. That fits values written once and never changed,
// which is what this package keeps:
//
//   - an Item's access token, written once when the public token is
//     exchanged (item ids are unique; update mode keeps the token);
//   - a widget login's Link session, written when its Link token is
//     created. Renders of the widget and replicas racing all end up with
//     the one stored session.
//
// Reading goes through EnsureSecret too, with a marker value that can
// never be a real record: if the record exists it comes back, otherwise
// the marker is stored and comes back, which means "none". The marker then
// occupies the name, but only where nothing was ever written: an Item
// whose exchange was never recorded (its token is lost to banklink anyway)
// or a widget login read before its Link session was created, which only
// a forged request can cause; that login then asks the customer to start
// again.

// absent is the marker stored by a read that found nothing.
var absent = []byte("\x00absent")

// tokenRecord is the stored form of an access token.
type tokenRecord struct {
	// Token is the access token in clear, when no Sealer is configured.
	Token string `json:"token,omitempty"`
	// KeyID and Sealed hold it sealed otherwise.
	KeyID  string `json:"kid,omitempty"`
	Sealed []byte `json:"sealed,omitempty"`
}

func tokenSecretName(itemID string) string { return "plaid-access-token:" + itemID }

// saveAccessToken stores itemID's access token.
func (p *Provider) saveAccessToken(ctx context.Context, itemID, token string) error {
	rec := tokenRecord{Token: token}
	if p.cfg.Sealer != nil {
		kid, sealed, err := p.cfg.Sealer.Seal([]byte(token), []byte(tokenSecretName(itemID)))
		if err != nil {
			return &banklink.Error{Code: banklink.EINTERNAL, Message: "Could not seal the Plaid access token.", Err: err}
		}
		rec = tokenRecord{KeyID: kid, Sealed: sealed}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	stored, err := p.cfg.Secrets.EnsureSecret(ctx, tokenSecretName(itemID), b)
	if err != nil {
		return err
	}
	if !bytes.Equal(stored, b) {
		// Another token is already recorded for this Item (or a read
		// recorded that there was none): never overwrite it silently.
		if got, err := p.openAccessToken(itemID, stored); err != nil || got != token {
			return &banklink.Error{Code: banklink.ECONFLICT, Message: "A different access token is already stored for this Plaid Item.",
				Err: fmt.Errorf("plaid item %s", itemID)}
		}
	}
	return nil
}

// accessToken returns itemID's access token.
func (p *Provider) accessToken(ctx context.Context, itemID string) (string, error) {
	if itemID == "" {
		return "", &banklink.ProviderError{Reason: banklink.LoginInvalidCredentials, DisplayMessage: msgLoginAgain}
	}
	stored, err := p.cfg.Secrets.EnsureSecret(ctx, tokenSecretName(itemID), absent)
	if err != nil {
		return "", err
	}
	if bytes.Equal(stored, absent) {
		// Without the token the Item is unreachable: only a new login
		// helps.
		return "", &banklink.ProviderError{Reason: banklink.LoginInvalidCredentials, DisplayMessage: msgLoginAgain}
	}
	return p.openAccessToken(itemID, stored)
}

func (p *Provider) openAccessToken(itemID string, stored []byte) (string, error) {
	var rec tokenRecord
	if err := json.Unmarshal(stored, &rec); err != nil {
		return "", &banklink.Error{Code: banklink.EINTERNAL, Message: "The stored Plaid access token is unreadable.", Err: fmt.Errorf("plaid item %s: %w", itemID, err)}
	}
	if rec.Sealed == nil {
		if rec.Token == "" {
			return "", &banklink.Error{Code: banklink.EINTERNAL, Message: "The stored Plaid access token is empty.", Err: fmt.Errorf("plaid item %s", itemID)}
		}
		return rec.Token, nil
	}
	if p.cfg.Sealer == nil {
		return "", &banklink.Error{Code: banklink.EINTERNAL, Message: "The Plaid access token is sealed and no Sealer is configured.", Err: fmt.Errorf("plaid item %s", itemID)}
	}
	plain, err := p.cfg.Sealer.Open(rec.KeyID, rec.Sealed, []byte(tokenSecretName(itemID)))
	if err != nil {
		return "", &banklink.Error{Code: banklink.EINTERNAL, Message: "The Plaid access token could not be opened.", Err: err}
	}
	return string(plain), nil
}

// linkSession is a widget login's Hosted Link session.
type linkSession struct {
	LinkToken     string `json:"link_token"`
	HostedLinkURL string `json:"hosted_link_url"`
	// Expiration is the Link token's, in Unix seconds.
	Expiration int64 `json:"expiration"`
	// ItemID is set when the Link token is in update mode: the Item the
	// session repairs.
	ItemID string `json:"item_id,omitempty"`
}

// sessionKey names the Link session of a widget login. The callback URL
// identifies the login (it carries the connect token, so it is hashed) and
// is the same when the widget starts the login and when the customer
// comes back.
func sessionKey(callbackURL string) string {
	sum := sha256.Sum256([]byte("plaid-link-session\x00" + callbackURL))
	return hex.EncodeToString(sum[:])
}

func sessionSecretName(key string) string { return "plaid-link-session:" + key }

// storeSession records s for key unless a session is recorded already, and
// returns the recorded one.
func (p *Provider) storeSession(ctx context.Context, key string, s linkSession) (linkSession, bool, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return linkSession{}, false, err
	}
	stored, err := p.cfg.Secrets.EnsureSecret(ctx, sessionSecretName(key), b)
	if err != nil {
		return linkSession{}, false, err
	}
	return decodeSession(stored)
}

// loadSession returns the session recorded for key; false if none.
func (p *Provider) loadSession(ctx context.Context, key string) (linkSession, bool, error) {
	stored, err := p.cfg.Secrets.EnsureSecret(ctx, sessionSecretName(key), absent)
	if err != nil {
		return linkSession{}, false, err
	}
	return decodeSession(stored)
}

func decodeSession(stored []byte) (linkSession, bool, error) {
	if bytes.Equal(stored, absent) {
		return linkSession{}, false, nil
	}
	var s linkSession
	if err := json.Unmarshal(stored, &s); err != nil || s.LinkToken == "" {
		return linkSession{}, false, &banklink.Error{Code: banklink.EINTERNAL, Message: "A stored Plaid Link session is unreadable.", Err: err}
	}
	return s, true, nil
}
