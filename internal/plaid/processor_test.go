package plaid

import (
	"fmt"
	"slices"
	"testing"

	"banklink"
	"banklink/internal/plaid/fakeplaid"
)

// TestProcessorTokens: each processor's token comes from Plaid's own
// endpoint (Stripe's from the bank account token endpoint), for the
// account asked, under Plaid's name of the processor.
func TestProcessorTokens(t *testing.T) {
	e := newEnv(t)
	it := e.fp.NewItem("ins_56", "", "auth", "transactions")
	if err := e.p.AdoptLogin(t.Context(), banklink.ImportLoginRequest{LoginID: it.ID, AccessToken: it.AccessToken}); err != nil {
		t.Fatal(err)
	}
	acct := it.Accounts[0].ID
	for _, tc := range []struct {
		name      string
		login     string
		account   string
		processor banklink.Processor
		want      string // the fake's record of the processor
		code      string
	}{
		{"dwolla", it.ID, acct, "DWOLLA", "dwolla", ""},
		{"apex is apex_clearing", it.ID, acct, "APEX", "apex_clearing", ""},
		{"stripe bank account token", it.ID, acct, "STRIPE", "stripe", ""},
		{"an account of no Item of this login", it.ID, "nope", "DWOLLA", "", banklink.EPROVIDER},
		{"a login banklink holds no token for", "item-unknown", acct, "DWOLLA", "", "PROVIDER:" + banklink.LoginInvalidCredentials},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := e.p.CreateProcessorToken(t.Context(), banklink.ProcessorTokenRequest{LoginID: tc.login, ProviderAccountID: tc.account, Processor: tc.processor})
			if tc.code != "" {
				if pe, ok := err.(*banklink.ProviderError); ok {
					if "PROVIDER:"+pe.Reason != tc.code {
						t.Fatalf("err = %v, want %s", err, tc.code)
					}
					return
				}
				if banklink.ErrorCode(err) != tc.code {
					t.Fatalf("err = %v, want %s", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tokens := e.fp.ProcessorTokens()
			i := slices.IndexFunc(tokens, func(p0 fakeplaid.ProcessorToken) bool { return p0.Token == tok })
			if i < 0 || tokens[i].Processor != tc.want || tokens[i].AccountID != acct || tokens[i].ItemID != it.ID {
				t.Errorf("token %q: fake has %+v", tok, tokens)
			}
		})
	}
}

// TestImportItem: an Item is checked with the app's token before
// anything is kept; adopting it keeps the token and re-points its
// webhooks to banklink.
func TestImportItem(t *testing.T) {
	const hook = "https://banklink.example/providers/plaid/webhooks"
	e := newEnv(t, func(c *Config) { c.WebhookURL = hook })
	good := e.fp.NewItem("ins_56", "https://app.example/plaid", "transactions", "identity")
	removed := e.fp.NewItem("ins_56", "https://app.example/plaid", "transactions")
	e.fp.RemoveItem(removed.ID)
	broken := e.fp.NewItem("ins_56", "", "transactions")
	e.fp.SetItemError(broken.ID, "ITEM_LOGIN_REQUIRED")
	for _, tc := range []struct {
		name         string
		login, token string
		code, reason string
		wantInst     string
		wantProducts string
	}{
		{"a working Item", good.ID, good.AccessToken, "", "", "ins_56", "[BALANCES TRANSACTIONS OWNERS]"},
		{"a removed Item's token", removed.ID, removed.AccessToken, banklink.EBADREQUEST, "INVALID_ACCESS_TOKEN", "", ""},
		{"a made-up token", good.ID, "access-sandbox-nope", banklink.EBADREQUEST, "INVALID_ACCESS_TOKEN", "", ""},
		{"another Item's token", removed.ID, good.AccessToken, banklink.EBADREQUEST, "", "", ""},
		{"an Item in error", broken.ID, broken.AccessToken, banklink.ECONFLICT, "ITEM_LOGIN_REQUIRED", "", ""},
		{"no token", good.ID, "", banklink.EBADREQUEST, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.p.CheckLogin(t.Context(), banklink.ImportLoginRequest{LoginID: tc.login, AccessToken: tc.token})
			if tc.code != "" {
				be, _ := err.(*banklink.Error)
				if be == nil || be.Code != tc.code || (tc.reason != "" && be.Reason != tc.reason) {
					t.Fatalf("err = %#v, want %s %s", err, tc.code, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.LoginID != tc.login || got.ProviderInstitutionID != tc.wantInst || fmt.Sprint(got.Products) != tc.wantProducts {
				t.Errorf("CheckLogin = %+v", got)
			}
		})
	}
	// Checking kept nothing: banklink holds no token for the Item yet.
	if _, err := e.p.accessToken(t.Context(), good.ID+"-x"); err == nil {
		t.Error("a token was found for an Item never adopted")
	}
	if err := e.p.AdoptLogin(t.Context(), banklink.ImportLoginRequest{LoginID: good.ID, AccessToken: good.AccessToken}); err != nil {
		t.Fatal(err)
	}
	if tok, err := e.p.accessToken(t.Context(), good.ID); err != nil || tok != good.AccessToken {
		t.Errorf("stored token = %q, %v", tok, err)
	}
	if w := e.fp.Item(good.ID).Webhook; w != hook {
		t.Errorf("the Item's webhook is %q, want %q", w, hook)
	}
	// Adopting again is harmless; another token for the same Item is not.
	if err := e.p.AdoptLogin(t.Context(), banklink.ImportLoginRequest{LoginID: good.ID, AccessToken: good.AccessToken}); err != nil {
		t.Errorf("adopting again: %v", err)
	}
	if err := e.p.AdoptLogin(t.Context(), banklink.ImportLoginRequest{LoginID: good.ID, AccessToken: "access-sandbox-other"}); banklink.ErrorCode(err) != banklink.ECONFLICT {
		t.Errorf("adopting another token for the Item: %v", err)
	}
}

func TestBankLinkingProducts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plaid []string
		want  string
	}{
		{"nothing but balances", nil, "[BALANCES]"},
		{"every product", []string{"auth", "identity", "transactions", "investments", "liabilities"}, "[BALANCES IDENTIFIERS OWNERS TRANSACTIONS INVESTMENT_HOLDINGS INVESTMENT_TRANSACTIONS]"},
		{"repeated", []string{"transactions", "transactions"}, "[BALANCES TRANSACTIONS]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fmt.Sprint(bankLinkingProducts(tc.plaid)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestReplayProcessorTokenCreate(t *testing.T) {
	raw, ex := example(t, "/processor/token/create")
	stripeRaw, stripeEx := example(t, "/processor/stripe/bank_account_token/create")
	secrets := &memSecrets{}
	p := replay(t, map[string][]byte{"/processor/token/create": raw, "/processor/stripe/bank_account_token/create": stripeRaw})
	p.cfg.Secrets = secrets
	if err := p.saveAccessToken(t.Context(), "item-1", "access-sandbox-1"); err != nil {
		t.Fatal(err)
	}
	tok, err := p.CreateProcessorToken(t.Context(), banklink.ProcessorTokenRequest{LoginID: "item-1", ProviderAccountID: "a", Processor: "DWOLLA"})
	if err != nil || tok != str(ex["processor_token"]) {
		t.Errorf("processor token = %q, %v; the example has %v", tok, err, ex["processor_token"])
	}
	tok, err = p.CreateProcessorToken(t.Context(), banklink.ProcessorTokenRequest{LoginID: "item-1", ProviderAccountID: "a", Processor: "STRIPE"})
	if err != nil || tok != str(stripeEx["stripe_bank_account_token"]) {
		t.Errorf("stripe token = %q, %v; the example has %v", tok, err, stripeEx["stripe_bank_account_token"])
	}
}

func TestReplayItemGet(t *testing.T) {
	raw, ex := example(t, "/item/get")
	item := obj(ex["item"])
	p := replay(t, map[string][]byte{"/item/get": raw})
	got, err := p.CheckLogin(t.Context(), banklink.ImportLoginRequest{LoginID: str(item["item_id"]), AccessToken: "access-sandbox-1"})
	if item["error"] != nil {
		t.Skip("the example Item is in error")
	}
	if err != nil {
		t.Fatal(err)
	}
	if got.ProviderInstitutionID != str(item["institution_id"]) || len(got.Products) < 2 {
		t.Errorf("CheckLogin = %+v from %s", got, raw)
	}
}
