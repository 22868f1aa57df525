package secretbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// fixedKey returns a deterministic key whose bytes are all b.
func fixedKey(id string, b byte) Key {
	return Key{ID: id, Secret: bytes.Repeat([]byte{b}, KeySize)}
}

func newRing(t testing.TB, keys ...Key) *Ring {
	t.Helper()
	r, err := NewRing(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var (
	k1 = fixedKey("k1", 0x11)
	k2 = fixedKey("k2", 0x22)
)

func TestSealOpenRoundTrip(t *testing.T) {
	r := newRing(t, k1)
	for _, tc := range []struct {
		name      string
		plaintext []byte
		ad        []byte
	}{
		{"simple", []byte(`{"clientId":"abc","clientSecret":"s3cr3t"}`), []byte("provider-config-1")},
		{"empty plaintext", []byte{}, []byte("provider-config-1")},
		{"nil plaintext", nil, []byte("provider-config-1")},
		{"nil associated data", []byte("secret"), nil},
		{"binary", []byte{0, 1, 2, 0xff, 0xfe}, []byte{0}},
		{"large", bytes.Repeat([]byte("x"), 1<<16), []byte("cfg")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, sealed, err := r.Seal(tc.plaintext, tc.ad)
			if err != nil {
				t.Fatal(err)
			}
			if id != "k1" {
				t.Errorf("key id = %q, want k1", id)
			}
			if got, want := len(sealed), len(tc.plaintext)+Overhead; got != want {
				t.Errorf("len(sealed) = %d, want %d", got, want)
			}
			got, err := r.Open(id, sealed, tc.ad)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.plaintext) {
				t.Errorf("Open = %q, want %q", got, tc.plaintext)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	ad := []byte("cfg-42")
	old := newRing(t, k1)
	oldID, oldSealed, err := old.Seal([]byte("old secret"), ad)
	if err != nil {
		t.Fatal(err)
	}

	rotated := newRing(t, k2, k1)
	if got := rotated.CurrentID(); got != "k2" {
		t.Errorf("CurrentID = %q, want k2", got)
	}
	newID, newSealed, err := rotated.Seal([]byte("new secret"), ad)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		ring   *Ring
		id     string
		sealed []byte
		want   string
		err    error
	}{
		{"rotated ring opens value sealed by old key", rotated, oldID, oldSealed, "old secret", nil},
		{"rotated ring opens its own value", rotated, newID, newSealed, "new secret", nil},
		{"old ring does not know the new key", old, newID, newSealed, "", ErrUnknownKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.ring.Open(tc.id, tc.sealed, ad)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Open error = %v, want %v", err, tc.err)
			}
			if string(got) != tc.want {
				t.Errorf("Open = %q, want %q", got, tc.want)
			}
		})
	}
	if oldID != "k1" || newID != "k2" {
		t.Errorf("seal key ids = %q, %q; want k1, k2", oldID, newID)
	}
}

func TestOpenErrors(t *testing.T) {
	r := newRing(t, k1)
	ad := []byte("cfg-1")
	id, sealed, err := r.Seal([]byte("client secret"), ad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	// A different key under the same id: authentication must fail.
	sameIDOtherKey := newRing(t, fixedKey("k1", 0x99))

	for _, tc := range []struct {
		name   string
		ring   *Ring
		id     string
		sealed []byte
		ad     []byte
		want   error
	}{
		{"unknown key id", r, "k9", sealed, ad, ErrUnknownKey},
		{"empty key id", r, "", sealed, ad, ErrUnknownKey},
		{"tampered nonce", r, id, flip(0), ad, ErrCorrupt},
		{"tampered ciphertext", r, id, flip(NonceSize), ad, ErrCorrupt},
		{"tampered tag", r, id, flip(len(sealed) - 1), ad, ErrCorrupt},
		{"truncated by one byte", r, id, sealed[:len(sealed)-1], ad, ErrCorrupt},
		{"truncated to nonce only", r, id, sealed[:NonceSize], ad, ErrCorrupt},
		{"truncated below minimum", r, id, sealed[:Overhead-1], ad, ErrCorrupt},
		{"empty sealed", r, id, nil, ad, ErrCorrupt},
		{"extra trailing byte", r, id, append(bytes.Clone(sealed), 0), ad, ErrCorrupt},
		{"wrong associated data", r, id, sealed, []byte("cfg-2"), ErrCorrupt},
		{"missing associated data", r, id, sealed, nil, ErrCorrupt},
		{"same id different key", sameIDOtherKey, id, sealed, ad, ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.ring.Open(tc.id, tc.sealed, tc.ad)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open error = %v, want %v", err, tc.want)
			}
			if err == ErrCorrupt {
				t.Errorf("ErrCorrupt should be wrapped with detail, got the bare sentinel")
			}
			if got != nil {
				t.Errorf("Open returned plaintext %q with an error", got)
			}
		})
	}
}

func TestSealedDoesNotContainPlaintext(t *testing.T) {
	r := newRing(t, k1)
	plaintext := []byte("super-secret-client-credential-value")
	_, sealed, err := r.Seal(plaintext, []byte("cfg"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, plaintext) {
		t.Fatal("sealed bytes contain the plaintext")
	}
	// No 8-byte window of the plaintext survives either.
	for i := 0; i+8 <= len(plaintext); i++ {
		if bytes.Contains(sealed, plaintext[i:i+8]) {
			t.Fatalf("sealed bytes contain plaintext fragment %q", plaintext[i:i+8])
		}
	}
}

func TestSealUsesRandomNonce(t *testing.T) {
	r := newRing(t, k1)
	plaintext, ad := []byte("same plaintext"), []byte("same row")
	seen := map[string]bool{}
	nonces := map[string]bool{}
	for range 16 {
		_, sealed, err := r.Seal(plaintext, ad)
		if err != nil {
			t.Fatal(err)
		}
		if seen[string(sealed)] {
			t.Fatal("two seals of the same plaintext are identical")
		}
		seen[string(sealed)] = true
		nonces[string(sealed[:NonceSize])] = true
	}
	if len(nonces) != 16 {
		t.Errorf("got %d distinct nonces in 16 seals", len(nonces))
	}
}

func TestNewRing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		keys    []Key
		wantErr string
	}{
		{"one key", []Key{k1}, ""},
		{"two keys", []Key{k2, k1}, ""},
		{"id of 32 chars", []Key{fixedKey(strings.Repeat("a", 32), 1)}, ""},
		{"id with dash and underscore", []Key{fixedKey("prod-2026_01", 1)}, ""},
		{"no keys", nil, "no keys"},
		{"empty id", []Key{fixedKey("", 1)}, "invalid key id"},
		{"id of 33 chars", []Key{fixedKey(strings.Repeat("a", 33), 1)}, "invalid key id"},
		{"id with colon", []Key{fixedKey("a:b", 1)}, "invalid key id"},
		{"id with space", []Key{fixedKey("a b", 1)}, "invalid key id"},
		{"id with non-ASCII", []Key{fixedKey("ключ", 1)}, "invalid key id"},
		{"duplicate id", []Key{k1, fixedKey("k1", 0x33)}, "duplicate key id"},
		{"short key", []Key{{ID: "k", Secret: make([]byte, 16)}}, "want 32"},
		{"long key", []Key{{ID: "k", Secret: make([]byte, 33)}}, "want 32"},
		{"nil key", []Key{{ID: "k"}}, "want 32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRing(tc.keys...)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := r.CurrentID(); got != tc.keys[0].ID {
					t.Errorf("CurrentID = %q, want %q", got, tc.keys[0].ID)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("NewRing error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestNewRingDoesNotAliasSecret(t *testing.T) {
	k := fixedKey("k", 0x42)
	r := newRing(t, k)
	id, sealed, err := r.Seal([]byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	clear(k.Secret) // the caller wipes its copy
	if _, err := r.Open(id, sealed, nil); err != nil {
		t.Fatalf("ring depends on the caller's key slice: %v", err)
	}
}

func TestGenerateKey(t *testing.T) {
	a, b := GenerateKey("a"), GenerateKey("b")
	if a.ID != "a" || len(a.Secret) != KeySize || len(b.Secret) != KeySize {
		t.Fatalf("GenerateKey = %d-byte key with id %q", len(a.Secret), a.ID)
	}
	if bytes.Equal(a.Secret, b.Secret) {
		t.Fatal("two generated keys are equal")
	}
	r := newRing(t, a, b)
	id, sealed, err := r.Seal([]byte("p"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := r.Open(id, sealed, nil); err != nil || string(got) != "p" {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

func TestParseKeys(t *testing.T) {
	sec1 := bytes.Repeat([]byte{0xfb}, KeySize) // encodes with '+' and '/' vs '-' and '_'
	sec2 := bytes.Repeat([]byte{0x5a}, KeySize)
	std1 := base64.StdEncoding.EncodeToString(sec1)
	url1 := base64.RawURLEncoding.EncodeToString(sec1)
	std2 := base64.StdEncoding.EncodeToString(sec2)
	short := base64.StdEncoding.EncodeToString(sec1[:16])
	long := base64.StdEncoding.EncodeToString(append(bytes.Clone(sec1), 1))

	type want struct {
		id     string
		secret []byte
	}
	for _, tc := range []struct {
		name    string
		in      string
		want    []want
		wantErr string // substring of the error; "" means success
	}{
		{"one std key", "k1:" + std1, []want{{"k1", sec1}}, ""},
		{"one raw-url key", "k1:" + url1, []want{{"k1", sec1}}, ""},
		{"comma-separated", "k2:" + std2 + ",k1:" + url1, []want{{"k2", sec2}, {"k1", sec1}}, ""},
		{"newline-separated", "k2:" + std2 + "\nk1:" + std1 + "\n", []want{{"k2", sec2}, {"k1", sec1}}, ""},
		{"CRLF, blank lines and indentation", "\r\n  k2:" + std2 + "\r\n\r\n\tk1:" + url1 + "  \r\n", []want{{"k2", sec2}, {"k1", sec1}}, ""},
		{"spaces around comma", " k2:" + std2 + " , k1:" + std1 + " ", []want{{"k2", sec2}, {"k1", sec1}}, ""},
		{"empty string", "", nil, "no keys"},
		{"only whitespace", " \n\t, \n", nil, "no keys"},
		{"missing colon", "k1" + std1, nil, "entry 1: missing ':'"},
		{"missing colon in second entry", "k1:" + std1 + "\n" + std2, nil, "entry 2: missing ':'"},
		{"bad base64", "k1:" + std1[:20] + "!!" + std1[22:], nil, "entry 1 (id \"k1\"): key is not valid base64"},
		{"mixed alphabets", "k1:" + strings.Replace(std1, "/", "_", 1), nil, "not valid base64"},
		{"empty key", "k1:", nil, "not valid base64"},
		{"short key", "k1:" + short, nil, "entry 1 (id \"k1\"): key is 16 bytes, want 32"},
		{"long key", "k1:" + long, nil, "key is 33 bytes, want 32"},
		{"duplicate id", "k1:" + std1 + ",k2:" + std2 + ",k1:" + std2, nil, "entry 3: duplicate key id \"k1\" (also entry 1)"},
		{"empty id", ":" + std1, nil, "entry 1: invalid key id"},
		{"invalid id", "k/1:" + std1, nil, "entry 1: invalid key id"},
		{"key and id swapped", std1 + ":k1", nil, "entry 1: invalid key id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := ParseKeys(tc.in)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseKeys succeeded with %d keys, want error containing %q", len(keys), tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseKeys error = %q, want one containing %q", err, tc.wantErr)
				}
				assertNoKeyMaterial(t, err.Error(), std1, url1, std2, short, long, string(sec1), string(sec2))
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != len(tc.want) {
				t.Fatalf("got %d keys, want %d", len(keys), len(tc.want))
			}
			for i, w := range tc.want {
				if keys[i].ID != w.id || !bytes.Equal(keys[i].Secret, w.secret) {
					t.Errorf("key %d = %v (secret %x), want id %q secret %x", i, keys[i], keys[i].Secret, w.id, w.secret)
				}
			}
			if _, err := NewRing(keys...); err != nil {
				t.Errorf("NewRing(ParseKeys(...)) = %v", err)
			}
		})
	}
}

// assertNoKeyMaterial fails if msg holds any of the secrets, or any
// 8-character stretch of them.
func assertNoKeyMaterial(t *testing.T, msg string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		for i := 0; i+8 <= len(s); i++ {
			if strings.Contains(msg, s[i:i+8]) {
				t.Fatalf("message %q contains key material %q", msg, s[i:i+8])
			}
		}
	}
}

func TestKeyStringRedactsSecret(t *testing.T) {
	k := Key{ID: "prod-1", Secret: []byte("0123456789abcdef0123456789ABCDEF")}
	const want = "secretbox.Key{ID: prod-1, Secret: [REDACTED]}"
	if got := k.String(); got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	type holder struct {
		Name string
		Key  Key
	}
	for _, tc := range []struct {
		name string
		out  func() string
	}{
		{"String", k.String},
		{"%v", func() string { return fmt.Sprintf("%v", k) }},
		{"%+v", func() string { return fmt.Sprintf("%+v", k) }},
		{"%#v", func() string { return fmt.Sprintf("%#v", k) }},
		{"%s", func() string { return fmt.Sprintf("%s", k) }},
		{"%q", func() string { return fmt.Sprintf("%q", k) }},
		{"%x", func() string { return fmt.Sprintf("%x", k) }},
		{"%X", func() string { return fmt.Sprintf("%X", k) }},
		{"%d", func() string { return fmt.Sprintf("%d", k) }},
		{"pointer %v", func() string { return fmt.Sprintf("%v", &k) }},
		{"pointer %+v", func() string { return fmt.Sprintf("%+v", &k) }},
		{"slice %v", func() string { return fmt.Sprintf("%v", []Key{k}) }},
		{"in struct %+v", func() string { return fmt.Sprintf("%+v", holder{"x", k}) }},
		{"in struct %#v", func() string { return fmt.Sprintf("%#v", holder{"x", k}) }},
		{"error wrapping", func() string { return fmt.Errorf("bad key %v", k).Error() }},
		{"json", func() string { b, _ := json.Marshal(k); return string(b) }},
		{"slog text", func() string {
			var buf bytes.Buffer
			slog.New(slog.NewTextHandler(&buf, nil)).Info("key", "key", k)
			return buf.String()
		}},
		{"slog json", func() string {
			var buf bytes.Buffer
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("key", "key", k)
			return buf.String()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := tc.out()
			if !strings.Contains(out, "REDACTED") {
				t.Errorf("output %q does not mark the secret redacted", out)
			}
			assertNoKeyMaterial(t, out,
				string(k.Secret),
				fmt.Sprintf("%x", k.Secret),
				fmt.Sprintf("%X", k.Secret),
				fmt.Sprint([]byte(k.Secret)),
				base64.StdEncoding.EncodeToString(k.Secret))
		})
	}
}

func TestZeroRing(t *testing.T) {
	var r Ring
	if _, _, err := r.Seal([]byte("x"), nil); err == nil {
		t.Error("Seal on a zero Ring succeeded")
	}
	if _, err := r.Open("k1", make([]byte, 64), nil); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Open on a zero Ring = %v, want ErrUnknownKey", err)
	}
	if got := r.CurrentID(); got != "" {
		t.Errorf("CurrentID on a zero Ring = %q", got)
	}
}

func FuzzOpen(f *testing.F) {
	r := newRing(f, k2, k1)
	ad := []byte("cfg-1")
	id, sealed, err := r.Seal([]byte("client secret"), ad)
	if err != nil {
		f.Fatal(err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 0x80

	f.Add(id, sealed, ad)                            // valid
	f.Add(id, tampered, ad)                          // tampered tag
	f.Add(id, sealed, []byte("cfg-2"))               // wrong associated data
	f.Add("k1", sealed, ad)                          // other key in the ring
	f.Add("nope", sealed, ad)                        // unknown key id
	f.Add(id, sealed[:Overhead], ad)                 // empty plaintext length, bad tag
	f.Add(id, sealed[:Overhead-1], ad)               // one byte too short
	f.Add(id, sealed[:NonceSize], []byte(nil))       // nonce only
	f.Add(id, []byte{}, []byte{})                    // empty
	f.Add("", []byte(nil), []byte(nil))              // nothing at all
	f.Add(id, bytes.Repeat([]byte{0xff}, 4096), ad)  // large garbage
	f.Add(strings.Repeat("k", 100), []byte("x"), ad) // long id

	f.Fuzz(func(t *testing.T, keyID string, sealed, ad []byte) {
		in := bytes.Clone(sealed)
		got, err := r.Open(keyID, sealed, ad)
		if !bytes.Equal(in, sealed) {
			t.Fatal("Open modified its input")
		}
		if err != nil {
			if !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open error %v is neither ErrUnknownKey nor ErrCorrupt", err)
			}
			if got != nil {
				t.Fatalf("Open returned plaintext with error %v", err)
			}
			return
		}
		// Success is only possible for a value this ring sealed.
		if len(got) != len(sealed)-Overhead {
			t.Fatalf("opened %d bytes from %d sealed bytes", len(got), len(sealed))
		}
	})
}
