package banklink

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"time"
)

// Environment separates sandbox data from production data. Every API key
// belongs to one, and everything created with a key is scoped to it.
type Environment string

// The environments.
const (
	Sandbox    Environment = "sandbox"
	Production Environment = "production"
)

// ParseEnvironment returns the environment named s.
func ParseEnvironment(s string) (Environment, bool) {
	switch e := Environment(strings.ToLower(s)); e {
	case Sandbox, Production:
		return e, true
	}
	return "", false
}

// Account is a tenant: an app that links its customers' banks. It owns API
// keys, customers and connections.
type Account struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// Scope is what an authenticated API request may see: one account in one
// environment. Every store lookup of tenant data takes one, so another
// account's ids are simply not found.
type Scope struct {
	AccountID   string
	Environment Environment
}

// APIKey authenticates an app's server. The plaintext is shown once at
// creation; only a hash of its secret part is kept.
type APIKey struct {
	ID          string
	AccountID   string
	Environment Environment
	Name        string
	// SecretHash is SHA-256 of the secret part. A fast hash is right here:
	// the secret has 256 bits of entropy, so there is nothing to brute-force.
	SecretHash []byte
	// Version is the Meld-Version applied when a request does not send one,
	// pinned when the key is created so upgrades never change a key's wire
	// format underneath an app.
	Version   string
	CreatedAt time.Time
	RevokedAt *time.Time
}

// Scope returns the scope the key grants.
func (k *APIKey) Scope() Scope { return Scope{AccountID: k.AccountID, Environment: k.Environment} }

// Revoked reports whether the key has been revoked.
func (k *APIKey) Revoked() bool { return k.RevokedAt != nil }

// Matches reports, in constant time, whether secret is this key's secret.
func (k *APIKey) Matches(secret string) bool {
	sum := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(sum[:], k.SecretHash) == 1
}

const apiKeyPrefix = "bl_"

// NewAPIKey mints a key for account in env and returns the key record and
// the plaintext to show once: "bl_<env>_<id>_<secret>", where id locates the
// record and secret carries 256 bits of entropy.
func NewAPIKey(accountID string, env Environment, name, version string, now time.Time) (*APIKey, string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	secret := EncodeBase58(b[:], 44)
	sum := sha256.Sum256([]byte(secret))
	k := &APIKey{
		ID: NewID(), AccountID: accountID, Environment: env, Name: name,
		SecretHash: sum[:], Version: version, CreatedAt: now.UTC(),
	}
	return k, apiKeyPrefix + string(env) + "_" + k.ID + "_" + secret
}

// ParseAPIKey splits a plaintext key into its environment, id and secret.
func ParseAPIKey(s string) (env Environment, id, secret string, ok bool) {
	rest, found := strings.CutPrefix(s, apiKeyPrefix)
	if !found {
		return "", "", "", false
	}
	parts := strings.Split(rest, "_")
	if len(parts) != 3 {
		return "", "", "", false
	}
	env, ok = ParseEnvironment(parts[0])
	if !ok || string(env) != parts[0] || len(parts[1]) != IDLength || !IsBase58(parts[1]) || !IsBase58(parts[2]) {
		return "", "", "", false
	}
	return env, parts[1], parts[2], true
}
