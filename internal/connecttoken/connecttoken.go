// Package connecttoken mints and verifies connect tokens: the short-lived
// HS256 JWTs that let the Connect Widget act for one customer's connection.
// Every token names its signing key in the "kid" header so the secret can
// rotate: the first key signs, all keys verify.
package connecttoken

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"banklink"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultTTL is how long a token is valid: 3 hours, as Meld documents.
const DefaultTTL = 3 * time.Hour

// Claims are the connect token's claims, named as in Meld's tokens.
type Claims struct {
	Account        string             `json:"account"`
	Customer       string             `json:"customer"`
	Connection     string             `json:"connection"`
	Products       []banklink.Product `json:"products"`
	Regions        []banklink.Region  `json:"regions,omitempty"`
	Redirect       bool               `json:"redirect"`
	RoutingProfile string             `json:"routingProfile"`
	// Environment is banklink's addition: the widget must never mix
	// sandbox and production data.
	Environment banklink.Environment `json:"env,omitempty"`
	// Repair marks a token from connect/repair: it reopens a linked
	// connection's login instead of creating one.
	Repair bool `json:"repair,omitempty"`
	// RepairOf is the connection's completion time (Unix microseconds)
	// when the repair token was made: the token repairs that state once.
	RepairOf int64 `json:"repairOf,omitempty"`
	// Language is the BCP 47 tag the app asked the widget to speak
	// (connect/start's language), canonical; "" follows the browser.
	// It travels in the token so every step, a reload and the OAuth
	// round trip keep it without a column of its own.
	Language string `json:"lang,omitempty"`
	jwt.RegisteredClaims
}

// Key is one HS256 signing secret and its id.
type Key struct {
	ID     string
	Secret []byte
}

// KeyID derives a key id from a secret, so operators rotate by listing
// secrets alone and ids never collide by accident.
func KeyID(secret []byte) string {
	sum := sha256.Sum256(secret)
	return hex.EncodeToString(sum[:6])
}

// MinSecretLength is the shortest secret accepted: HS256 wants at least
// 256 bits of key.
const MinSecretLength = 32

// MaxIssuerLength bounds the "iss" claim (-token-issuer).
const MaxIssuerLength = 100

// MaxLength bounds a connect token's length in bytes. The longest token
// banklink can mint (every product, banklink.MaxRegions regions of the
// longest form, a repair token, a MaxIssuerLength issuer) is about 3.7 KB
// (TestMaxLength measures it); anything longer is not a token of ours and
// is refused before any work is done on it.
const MaxLength = 8 << 10

// Signer mints and verifies tokens.
type Signer struct {
	keys   []Key
	byID   map[string][]byte
	issuer string
	ttl    time.Duration
	parser *jwt.Parser
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// NewSigner returns a Signer that signs with secrets[0] and accepts tokens
// signed by any of secrets.
func NewSigner(issuer string, ttl time.Duration, secrets ...[]byte) (*Signer, error) {
	if len(secrets) == 0 {
		return nil, errors.New("connect token: no signing secret")
	}
	if len(issuer) > MaxIssuerLength {
		return nil, fmt.Errorf("connect token: issuer is %d bytes, at most %d", len(issuer), MaxIssuerLength)
	}
	s := &Signer{issuer: issuer, ttl: ttl, byID: map[string][]byte{}, Now: time.Now}
	for i, sec := range secrets {
		if len(sec) < MinSecretLength {
			return nil, fmt.Errorf("connect token: secret %d is %d bytes, want at least %d", i+1, len(sec), MinSecretLength)
		}
		k := Key{ID: KeyID(sec), Secret: sec}
		s.keys = append(s.keys, k)
		s.byID[k.ID] = sec
	}
	s.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return s.Now() }),
	)
	return s, nil
}

// TTL returns the token lifetime.
func (s *Signer) TTL() time.Duration { return s.ttl }

// Mint signs c, setting iss, iat and exp, and returns the token and its
// expiry.
func (s *Signer) Mint(c Claims) (string, time.Time, error) {
	now := s.Now().UTC().Truncate(time.Second)
	exp := now.Add(s.ttl)
	c.RegisteredClaims = jwt.RegisteredClaims{
		Issuer:    s.issuer,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(exp),
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["kid"] = s.keys[0].ID
	signed, err := t.SignedString(s.keys[0].Secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign connect token: %w", err)
	}
	return signed, exp, nil
}

// Reasons a token is refused, carried in Error.Reason so the widget can
// show a friendly page for each.
const (
	ReasonMalformed = "TOKEN_MALFORMED"
	ReasonSignature = "TOKEN_SIGNATURE_INVALID"
	ReasonExpired   = "TOKEN_EXPIRED"
)

// Error is a refused token.
type Error struct {
	Reason string
	Err    error
}

func (e *Error) Error() string { return "connect token: " + e.Reason + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Parse verifies a token and returns its claims.
func (s *Signer) Parse(token string) (*Claims, error) {
	if len(token) > MaxLength {
		return nil, &Error{Reason: ReasonMalformed, Err: fmt.Errorf("%d bytes, longer than any connect token", len(token))}
	}
	var c Claims
	_, err := s.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if sec, ok := s.byID[kid]; ok {
			return sec, nil
		}
		return nil, fmt.Errorf("unknown key id %q", kid)
	})
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, &Error{Reason: ReasonExpired, Err: err}
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable), errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return nil, &Error{Reason: ReasonSignature, Err: err}
	default:
		return nil, &Error{Reason: ReasonMalformed, Err: err}
	}
	if c.Connection == "" || c.Customer == "" || c.Account == "" {
		return nil, &Error{Reason: ReasonMalformed, Err: errors.New("missing account, customer or connection claim")}
	}
	return &c, nil
}
