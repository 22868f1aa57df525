package sandbox

import (
	"strings"
	"testing"

	"banklink"
)

func TestProcessorToken(t *testing.T) {
	p := &Provider{}
	good, broken := loginID("inst", UserGood), loginID("inst", UserReconnect)
	for _, tc := range []struct {
		name, login, account string
		code                 string
	}{
		{"an account of the login", good, good + "_acc0", ""},
		{"another login's account", good, broken + "_acc0", banklink.ENOTFOUND},
		{"no login", "", "_acc0", banklink.ENOTFOUND},
		{"a login that needs a repair", broken, broken + "_acc0", "PROVIDER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := p.CreateProcessorToken(t.Context(), banklink.ProcessorTokenRequest{LoginID: tc.login, ProviderAccountID: tc.account, Processor: "DWOLLA"})
			switch {
			case tc.code == "PROVIDER":
				if _, ok := err.(*banklink.ProviderError); !ok {
					t.Fatalf("err = %v, want a provider error", err)
				}
			case tc.code != "":
				if banklink.ErrorCode(err) != tc.code {
					t.Fatalf("err = %v, want %s", err, tc.code)
				}
			case err != nil:
				t.Fatal(err)
			default:
				again, _ := p.CreateProcessorToken(t.Context(), banklink.ProcessorTokenRequest{LoginID: tc.login, ProviderAccountID: tc.account, Processor: "DWOLLA"})
				if !strings.HasPrefix(tok, ProcessorTokenPrefix) || len(tok) < len(ProcessorTokenPrefix)+20 || again == tok {
					t.Errorf("tokens %q, %q", tok, again)
				}
			}
		})
	}
}
