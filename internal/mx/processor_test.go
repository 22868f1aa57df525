package mx_test

import (
	"slices"
	"testing"
	"time"

	"banklink"
	"banklink/internal/mx"
	"banklink/internal/mx/fakemx"
)

// TestProcessorToken: an MX processor token is an authorization code
// scoped to the login's user, member and the one account, with
// read-protected access; MX refuses other accounts.
func TestProcessorToken(t *testing.T) {
	fake, p := setup(t)
	user := newUser(t, p, "cust")
	member, err := fake.Connect(fakemx.Login{UserGUID: user, Institution: fakemx.MXBank, Username: "one", Password: "correct"})
	if err != nil {
		t.Fatal(err)
	}
	acct := fake.Accounts(member)[0].GUID
	for _, tc := range []struct {
		name           string
		login, account string
		code           string
	}{
		{"the member's account", user + "/" + member, acct, ""},
		{"another member's account", user + "/" + member, "ACT-nope", "PROVIDER:" + banklink.LoginInvalidCredentials},
		{"a login that is not MX's", "nope", acct, banklink.EINTERNAL},
		{"no account", user + "/" + member, "", banklink.EBADREQUEST},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, err := p.CreateProcessorToken(t.Context(), banklink.ProcessorTokenRequest{LoginID: tc.login, ProviderAccountID: tc.account, Processor: "DWOLLA"})
			if tc.code != "" {
				got := banklink.ErrorCode(err)
				if pe, ok := err.(*banklink.ProviderError); ok {
					got = "PROVIDER:" + pe.Reason
				}
				if err == nil || got != tc.code {
					t.Fatalf("err = %v, want %s", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			codes := fake.AuthorizationCodes()
			i := slices.IndexFunc(codes, func(c fakemx.AuthorizationCode) bool { return c.Code == code })
			if i < 0 || codes[i].UserGUID != user || codes[i].MemberGUID != member || codes[i].AccountGUID != acct ||
				!slices.Equal(codes[i].Features, []string{"read-protected"}) {
				t.Errorf("code %q: fake has %+v", code, codes)
			}
		})
	}
	var _ banklink.ProcessorTokenCreator = (*mx.Provider)(nil)
}

func TestReplayAuthorizationCode(t *testing.T) {
	raw, ex := mxExample(t, "POST", "/authorization_code")
	p := mxReplay(t, time.Now(), map[string]answer{"POST /authorization_code": ok(raw)})
	code, err := p.CreateProcessorToken(t.Context(), banklink.ProcessorTokenRequest{LoginID: "USR-1/MBR-1", ProviderAccountID: "ACT-1", Processor: "DWOLLA"})
	want, _ := obj(ex["authorization_code"])["code"].(string)
	if err != nil || want == "" || code != want {
		t.Errorf("code = %q, %v; the example has %q", code, err, want)
	}
}
