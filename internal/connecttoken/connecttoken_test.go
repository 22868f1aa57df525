package connecttoken

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"banklink"

	"github.com/golang-jwt/jwt/v5"
)

var (
	secretA = []byte("0123456789abcdef0123456789abcdef-a")
	secretB = []byte("0123456789abcdef0123456789abcdef-b")
	t0      = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
)

func newSigner(t *testing.T, secrets ...[]byte) *Signer {
	t.Helper()
	s, err := NewSigner("banklink", DefaultTTL, secrets...)
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return t0 }
	return s
}

func sample() Claims {
	return Claims{Account: "acct", Customer: "cust", Connection: "conn",
		Products: []banklink.Product{banklink.Balances}, Regions: []banklink.Region{"US"}, Redirect: true, RoutingProfile: "default"}
}

func TestMintClaimsAndHeader(t *testing.T) {
	s := newSigner(t, secretA)
	tok, exp, err := s.Mint(sample())
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(t0.Add(3 * time.Hour)) {
		t.Errorf("exp = %v", exp)
	}
	parts := strings.Split(tok, ".")
	var header, payload map[string]any
	for i, dst := range []*map[string]any{&header, &payload} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	if header["alg"] != "HS256" || header["typ"] != "JWT" || header["kid"] != KeyID(secretA) {
		t.Errorf("header = %v", header)
	}
	if payload["exp"].(float64)-payload["iat"].(float64) != 10800 || payload["iss"] != "banklink" || payload["connection"] != "conn" {
		t.Errorf("payload = %v", payload)
	}
	// Regions are omitted when not given.
	c := sample()
	c.Regions = nil
	tok, _, _ = s.Mint(c)
	b, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if strings.Contains(string(b), "regions") {
		t.Errorf("regions claim present without regions: %s", b)
	}
}

func TestParse(t *testing.T) {
	old := newSigner(t, secretA)
	rotated := newSigner(t, secretB, secretA) // B signs, A still verifies
	onlyB := newSigner(t, secretB)
	tokA, _, _ := old.Mint(sample())
	tokB, _, _ := rotated.Mint(sample())

	none := jwt.NewWithClaims(jwt.SigningMethodNone, sample())
	noneTok, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	hs512 := jwt.NewWithClaims(jwt.SigningMethodHS512, sample())
	hs512.Header["kid"] = KeyID(secretA)
	hs512Tok, _ := hs512.SignedString(secretA)
	empty := Claims{}
	emptyTok, _, _ := old.Mint(empty)

	for _, tc := range []struct {
		name   string
		signer *Signer
		token  string
		at     time.Time
		reason string
	}{
		{"valid", old, tokA, t0, ""},
		{"old key still verifies after rotation", rotated, tokA, t0, ""},
		{"new key", rotated, tokB, t0, ""},
		{"retired key refused", onlyB, tokA, t0, ReasonSignature},
		{"just before expiry", old, tokA, t0.Add(3*time.Hour - time.Second), ""},
		{"expired", old, tokA, t0.Add(3*time.Hour + time.Second), ReasonExpired},
		{"tampered payload", old, tamper(tokA), t0, ReasonSignature},
		{"alg none refused", old, noneTok, t0, ReasonSignature},
		{"HS512 refused by allow-list", old, hs512Tok, t0, ReasonSignature},
		{"garbage", old, "not.a.jwt", t0, ReasonMalformed},
		{"empty", old, "", t0, ReasonMalformed},
		{"missing claims", old, emptyTok, t0, ReasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.signer.Now = func() time.Time { return tc.at }
			c, err := tc.signer.Parse(tc.token)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if c.Connection != "conn" || c.Products[0] != banklink.Balances {
					t.Errorf("claims = %+v", c)
				}
				return
			}
			var te *Error
			if !errors.As(err, &te) || te.Reason != tc.reason {
				t.Fatalf("Parse error = %v, want reason %s", err, tc.reason)
			}
		})
	}
}

func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	b = []byte(strings.Replace(string(b), `"conn"`, `"evil"`, 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func TestNewSignerRejectsShortSecrets(t *testing.T) {
	if _, err := NewSigner("x", time.Hour, []byte("short")); err == nil {
		t.Error("short secret accepted")
	}
	if _, err := NewSigner("x", time.Hour); err == nil {
		t.Error("no secret accepted")
	}
}

func FuzzParse(f *testing.F) {
	s, _ := NewSigner("banklink", DefaultTTL, secretA)
	s.Now = func() time.Time { return t0 }
	tok, _, _ := s.Mint(sample())
	for _, seed := range []string{tok, tamper(tok), "", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", strings.Repeat(".", 100)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := s.Parse(token)
		if err == nil {
			if c.Connection == "" {
				t.Fatal("accepted a token without a connection")
			}
			// Only tokens we signed verify.
			if token != tok {
				t.Fatalf("accepted a token we did not mint: %q", token)
			}
		} else {
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("error is not *Error: %v", err)
			}
		}
	})
}

// TestMaxLength measures the longest token banklink can mint and checks
// it within MaxLength, and that Parse refuses anything longer unread.
func TestMaxLength(t *testing.T) {
	s, err := NewSigner(strings.Repeat("i", MaxIssuerLength), DefaultTTL, secretA)
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Repeat("z", banklink.IDLength)
	regions := make([]banklink.Region, banklink.MaxRegions)
	for i := range regions {
		regions[i] = banklink.Region(fmt.Sprintf("US-%03d", i)) // the longest form, XX-XXX
	}
	tok, _, err := s.Mint(Claims{Account: id, Customer: id, Connection: id, Products: banklink.Products, Regions: regions,
		Redirect: true, RoutingProfile: "default", Environment: banklink.Production, Repair: true, RepairOf: math.MaxInt64})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("longest connect token: %d bytes (MaxLength %d)", len(tok), MaxLength)
	if len(tok) > MaxLength {
		t.Errorf("the longest token is %d bytes, over MaxLength %d", len(tok), MaxLength)
	}
	if _, err := s.Parse(tok); err != nil {
		t.Errorf("the longest token does not parse: %v", err)
	}
	_, err = s.Parse(tok + strings.Repeat("A", MaxLength))
	if te, ok := errors.AsType[*Error](err); !ok || te.Reason != ReasonMalformed {
		t.Errorf("an over-long token: %v", err)
	}
	if _, err := NewSigner(strings.Repeat("i", MaxIssuerLength+1), DefaultTTL, secretA); err == nil {
		t.Error("an issuer over MaxIssuerLength was accepted")
	}
}
