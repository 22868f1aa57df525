// Package secretbox encrypts service-provider credentials at rest with
// AES-256-GCM. Every sealed value is stored next to the id of the key that
// sealed it, so keys can rotate: a Ring seals with its first key and opens
// with any of its keys. To rotate, put the new key first and keep the old
// ones until every row has been re-sealed.
//
// The sealed form is a 12-byte random nonce followed by the GCM ciphertext
// and its 16-byte tag. Callers pass associated data that names the row the
// value belongs to (e.g. the provider configuration id), so a sealed value
// copied to another row does not open.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

const (
	// KeySize is the length of an AES-256 key in bytes.
	KeySize = 32
	// NonceSize is the length of the random nonce that starts a sealed value.
	NonceSize = 12
	// Overhead is how much longer a sealed value is than its plaintext.
	Overhead = NonceSize + 16

	maxIDLen = 32
)

var (
	// ErrUnknownKey is returned by Open when the key id is not in the ring.
	ErrUnknownKey = errors.New("secretbox: unknown key id")
	// ErrCorrupt is returned (wrapped) by Open when the sealed value is too
	// short or fails authentication: tampered, sealed under other
	// associated data, or sealed by a different key with the same id.
	ErrCorrupt = errors.New("secretbox: sealed value is corrupt")
)

// Key is one 32-byte AES-256 key and its id.
type Key struct {
	ID     string
	Secret []byte
}

const redacted = "[REDACTED]"

// String returns the key with its secret redacted, so a logged key never
// leaks.
func (k Key) String() string {
	return "secretbox.Key{ID: " + k.ID + ", Secret: " + redacted + "}"
}

// Format makes every fmt verb (%v, %+v, %#v, %s, %x, %d, ...) print
// String, so no verb can print the secret.
func (k Key) Format(f fmt.State, _ rune) {
	_, _ = f.Write([]byte(k.String()))
}

// LogValue keeps the secret out of log/slog output.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("ID", k.ID), slog.String("Secret", redacted))
}

// MarshalJSON keeps the secret out of JSON output.
func (k Key) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `{"ID":%q,"Secret":%q}`, k.ID, redacted), nil
}

// GenerateKey returns a key with the given id and 32 random bytes.
func GenerateKey(id string) Key {
	secret := make([]byte, KeySize)
	if _, err := rand.Read(secret); err != nil {
		// crypto/rand.Read is documented never to fail.
		panic("secretbox: crypto/rand failed: " + err.Error())
	}
	return Key{ID: id, Secret: secret}
}

// validID reports whether id is 1-32 characters of [A-Za-z0-9_-].
func validID(id string) bool {
	if len(id) == 0 || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// checkKeys validates ids, key lengths and uniqueness. what names an entry
// in errors ("key" for NewRing, "entry" for ParseKeys); indexes are 1-based.
// Errors never include secrets; an id is quoted only once it is known to be
// valid, and a valid id (at most 32 characters) is too short to be an
// encoded 32-byte key.
func checkKeys(keys []Key, what string) error {
	if len(keys) == 0 {
		return errors.New("secretbox: no keys")
	}
	seen := make(map[string]int, len(keys))
	for i, k := range keys {
		n := i + 1
		if !validID(k.ID) {
			return fmt.Errorf("secretbox: %s %d: invalid key id (want 1-%d characters of A-Z a-z 0-9 _ -)", what, n, maxIDLen)
		}
		if len(k.Secret) != KeySize {
			return fmt.Errorf("secretbox: %s %d (id %q): key is %d bytes, want %d", what, n, k.ID, len(k.Secret), KeySize)
		}
		if first, dup := seen[k.ID]; dup {
			return fmt.Errorf("secretbox: %s %d: duplicate key id %q (also %s %d)", what, n, k.ID, what, first)
		}
		seen[k.ID] = n
	}
	return nil
}

// ParseKeys parses "id1:base64key1,id2:base64key2". Entries are separated
// by commas or newlines, so a key file can hold one entry per line;
// whitespace and blank lines around entries are ignored. Keys may be in
// standard or URL-safe base64, padded or not. Errors name the entry by its
// 1-based index and never include key material.
func ParseKeys(s string) ([]Key, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' })
	var keys []Key
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n := len(keys) + 1
		id, enc, ok := strings.Cut(f, ":")
		if !ok {
			return nil, fmt.Errorf("secretbox: entry %d: missing ':' between key id and key", n)
		}
		id, enc = strings.TrimSpace(id), strings.TrimSpace(enc)
		if !validID(id) {
			return nil, fmt.Errorf("secretbox: entry %d: invalid key id (want 1-%d characters of A-Z a-z 0-9 _ -)", n, maxIDLen)
		}
		secret, ok := decodeBase64(enc)
		if !ok {
			return nil, fmt.Errorf("secretbox: entry %d (id %q): key is not valid base64", n, id)
		}
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	if err := checkKeys(keys, "entry"); err != nil {
		return nil, err
	}
	return keys, nil
}

// decodeBase64 accepts standard and URL-safe base64, padded or not. A
// string that more than one of these accepts decodes to the same bytes
// under each, so the order of the attempts does not matter.
func decodeBase64(s string) ([]byte, bool) {
	if s == "" {
		return nil, false
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.Strict().DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

// Ring holds the keys: the first seals, every key opens. A Ring is
// immutable and safe for concurrent use. It does not keep the key bytes
// passed to NewRing.
type Ring struct {
	currentID string
	current   cipher.AEAD
	aeads     map[string]cipher.AEAD
}

// NewRing returns a ring that seals with keys[0] and opens with any key.
// It fails when there are no keys, an id is invalid (1-32 characters of
// [A-Za-z0-9_-]) or repeated, or a key is not 32 bytes.
func NewRing(keys ...Key) (*Ring, error) {
	if err := checkKeys(keys, "key"); err != nil {
		return nil, err
	}
	r := &Ring{aeads: make(map[string]cipher.AEAD, len(keys))}
	for i, k := range keys {
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("secretbox: key %d (id %q): %v", i+1, k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secretbox: key %d (id %q): %v", i+1, k.ID, err)
		}
		r.aeads[k.ID] = aead
	}
	r.currentID = keys[0].ID
	r.current = r.aeads[r.currentID]
	return r, nil
}

// CurrentID returns the id of the key that Seal uses.
func (r *Ring) CurrentID() string {
	if r == nil {
		return ""
	}
	return r.currentID
}

// Seal encrypts plaintext with the current key, binding it to
// associatedData, and returns the key id to store with the result.
// sealed is a fresh 12-byte random nonce followed by the ciphertext and tag.
func (r *Ring) Seal(plaintext, associatedData []byte) (keyID string, sealed []byte, err error) {
	if r == nil || r.current == nil {
		return "", nil, errors.New("secretbox: Seal on an empty ring")
	}
	nonce := make([]byte, NonceSize, NonceSize+len(plaintext)+r.current.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, fmt.Errorf("secretbox: reading nonce: %w", err)
	}
	// Seal appends after the nonce, so the output never overlaps it.
	return r.currentID, r.current.Seal(nonce, nonce, plaintext, associatedData), nil
}

// Open decrypts a value sealed under keyID with the same associatedData.
// It returns an error wrapping ErrUnknownKey when keyID is not in the
// ring, and one wrapping ErrCorrupt when sealed is too short or fails
// authentication.
func (r *Ring) Open(keyID string, sealed, associatedData []byte) ([]byte, error) {
	var aead cipher.AEAD
	if r != nil {
		aead = r.aeads[keyID]
	}
	if aead == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, keyID)
	}
	if len(sealed) < NonceSize+aead.Overhead() {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the %d-byte minimum", ErrCorrupt, len(sealed), NonceSize+aead.Overhead())
	}
	plaintext, err := aead.Open(nil, sealed[:NonceSize], sealed[NonceSize:], associatedData)
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed (tampered, wrong associated data, or wrong key for id %q)", ErrCorrupt, keyID)
	}
	return plaintext, nil
}
