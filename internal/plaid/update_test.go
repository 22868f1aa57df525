package plaid

import (
	"errors"
	"net/url"
	"slices"
	"testing"
	"time"

	"banklink"
)

// TestRepairInUpdateMode: a repair names the connection's Item
// (RepairLoginID) and Link runs in update mode for it when it can.
func TestRepairInUpdateMode(t *testing.T) {
	for _, tc := range []struct {
		name string
		// prepare breaks the linked Item at Plaid and returns the
		// RepairLoginID to ask for.
		prepare func(e *env, item string) string
		// query scripts the customer on the Hosted Link page.
		query url.Values
		// update: the Link token was in update mode for the Item;
		// sameItem: the repair kept the Item.
		update, sameItem bool
		failReason       string
	}{
		{name: "login required: the same Item is fixed",
			prepare: func(e *env, item string) string { e.fp.SetItemError(item, "ITEM_LOGIN_REQUIRED"); return item },
			update:  true, sameItem: true},
		{name: "consent expiring: the same Item is renewed",
			prepare: func(e *env, item string) string { return item },
			update:  true, sameItem: true},
		{name: "the customer leaves update mode",
			prepare: func(e *env, item string) string { e.fp.SetItemError(item, "ITEM_LOGIN_REQUIRED"); return item },
			query:   url.Values{"outcome": {"exit"}}, update: true, failReason: banklink.LoginOAuthDenied},
		{name: "the Item was removed at Plaid: a new Item",
			prepare: func(e *env, item string) string {
				if err := e.p.RemoveLogin(t.Context(), item, nil); err != nil {
					t.Fatal(err)
				}
				return item
			},
			update: false, sameItem: false},
		{name: "an Item banklink holds no token for: a new Item",
			prepare: func(e *env, item string) string { return "item-unknown" },
			update:  false, sameItem: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			in := e.institution(t, "ins_109508")
			first, _ := e.link(t, in, banklink.Balances, banklink.Transactions)
			items := len(e.fp.Items())
			req := e.request(in, banklink.Balances, banklink.Transactions)
			req.RepairLoginID = tc.prepare(e, first.LoginID)

			start, err := e.p.StartLogin(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			tokens := e.fp.LinkTokenRequests()
			lt := tokens[len(tokens)-1]
			if got := lt.ItemID == first.LoginID; got != tc.update || (tc.update && len(lt.Products) != 0) {
				t.Errorf("Link token for Item %q with products %v; want update mode %v", lt.ItemID, lt.Products, tc.update)
			}
			if lt.CompletionRedirectURI != req.CallbackURL {
				t.Errorf("completion_redirect_uri %q", lt.CompletionRedirectURI)
			}
			q := tc.query
			if q == nil {
				q = url.Values{"institution_id": {"ins_109508"}}
			}
			visit(t, start.RedirectURL, q)
			step, err := e.p.CompleteRedirect(t.Context(), req, map[string]string{"code": "", "error": ""})
			if tc.failReason != "" {
				if pe, ok := errors.AsType[*banklink.ProviderError](err); !ok || pe.Reason != tc.failReason {
					t.Fatalf("err = %v, want %s", err, tc.failReason)
				}
				if it := e.fp.Item(first.LoginID); it.Error == "" {
					t.Error("the Item was fixed though the customer left")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := step.LoginID == first.LoginID; got != tc.sameItem || len(step.Accounts) != len(first.Accounts) {
				t.Errorf("repaired login %s with %d accounts; first login %s with %d", step.LoginID, len(step.Accounts), first.LoginID, len(first.Accounts))
			}
			if got := len(e.fp.Items()) == items; got != tc.sameItem {
				t.Errorf("%d Items at Plaid, %d before the repair", len(e.fp.Items()), items)
			}
			// Whichever Item the connection now holds works.
			if _, err := e.p.Aggregate(t.Context(), banklink.AggregationRequest{Institution: in, LoginID: step.LoginID,
				Products: []banklink.Product{banklink.Balances}}); err != nil {
				t.Errorf("aggregating the repaired login: %v", err)
			}
		})
	}
}

// TestUpdateModeLinkTokenIsValidated: the fake Plaid refuses update mode
// for an access token it does not know and, as Plaid, requires products
// only outside update mode.
func TestUpdateModeLinkTokenIsValidated(t *testing.T) {
	e := newEnv(t)
	in := e.institution(t, "ins_109508")
	first, _ := e.link(t, in, banklink.Balances)
	token, err := e.p.accessToken(t.Context(), first.LoginID)
	if err != nil {
		t.Fatal(err)
	}
	base := linkTokenCreateRequest{ClientName: "banklink", Language: "en", CountryCodes: []string{"US"}, User: linkUser{ClientUserID: "u"}}
	for _, tc := range []struct {
		name        string
		accessToken string
		products    []string
		code        string
	}{
		{"update mode without products", token, nil, ""},
		{"unknown access token", "access-sandbox-nope", nil, "INVALID_ACCESS_TOKEN"},
		{"neither products nor access token", "", nil, "MISSING_FIELDS"},
		{"a new Item with products", "", []string{"transactions"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := base
			body.AccessToken, body.Products = tc.accessToken, tc.products
			var resp linkTokenCreateResponse
			err := e.p.call(t.Context(), "/link/token/create", body, &resp, maxResponse)
			if codeOf(err) != tc.code || (tc.code == "" && resp.LinkToken == "") {
				t.Errorf("err = %v, want %q", err, tc.code)
			}
		})
	}
}

// TestOptionalProductsAtLink: a connection's optional products are asked
// for when its Item is linked (required_if_supported_products), so Plaid
// collects the customer's consent and they can be aggregated.
func TestOptionalProductsAtLink(t *testing.T) {
	e := newEnv(t)
	in := e.institution(t, "ins_109508")
	req := e.request(in, banklink.Transactions)
	req.OptionalProducts = []banklink.Product{banklink.Owners, banklink.Identifiers, banklink.Balances}
	start, err := e.p.StartLogin(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	tokens := e.fp.LinkTokenRequests()
	lt := tokens[len(tokens)-1]
	if !slices.Equal(lt.Products, []string{"transactions"}) || !slices.Equal(lt.RequiredIfSupportedProducts, []string{"auth", "identity"}) {
		t.Errorf("Link token products %v, required if supported %v", lt.Products, lt.RequiredIfSupportedProducts)
	}
	visit(t, start.RedirectURL, url.Values{"institution_id": {"ins_109508"}})
	step, err := e.p.CompleteRedirect(t.Context(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The runner aggregates required and optional products together.
	accts, err := e.p.Aggregate(t.Context(), banklink.AggregationRequest{Institution: in, LoginID: step.LoginID,
		Products: append(req.Products, req.OptionalProducts...), Since: time.Now().AddDate(0, 0, -30), Now: time.Now()})
	if err != nil {
		t.Fatalf("aggregating the optional products: %v", err)
	}
	if len(accts[0].Owners) == 0 || accts[0].Identifiers == nil || len(accts[0].Transactions) == 0 {
		t.Errorf("checking: owners %v, identifiers %+v, %d transactions", accts[0].Owners, accts[0].Identifiers, len(accts[0].Transactions))
	}
}

// TestOptionalProductNotGranted: a product whose data the customer did not
// share (ACCESS_NOT_GRANTED) is left out of the aggregation, which goes on
// with the others; a repair in update mode asks for consent again.
func TestOptionalProductNotGranted(t *testing.T) {
	e := newEnv(t)
	in := e.institution(t, "ins_109508")
	req := e.request(in, banklink.Balances, banklink.Transactions)
	req.OptionalProducts = []banklink.Product{banklink.Owners}
	start, err := e.p.StartLogin(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	// At the institution's own consent screen the customer keeps their
	// identity to themselves.
	visit(t, start.RedirectURL, url.Values{"institution_id": {"ins_109508"}, "withhold": {"identity"}})
	step, err := e.p.CompleteRedirect(t.Context(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	products := append(slices.Clone(req.Products), req.OptionalProducts...)
	aggregate := func() []banklink.AggregatedAccount {
		t.Helper()
		accts, err := e.p.Aggregate(t.Context(), banklink.AggregationRequest{Institution: in, LoginID: step.LoginID, Products: products,
			Since: time.Now().AddDate(0, 0, -30), Now: time.Now()})
		if err != nil {
			t.Fatalf("aggregate: %v", err)
		}
		return accts
	}
	accts := aggregate()
	if len(accts[0].Owners) != 0 || accts[0].Balances == nil || len(accts[0].Transactions) == 0 {
		t.Errorf("without identity consent: owners %v, balances %+v, %d transactions", accts[0].Owners, accts[0].Balances, len(accts[0].Transactions))
	}
	if e.fp.Calls("/identity/get") != 1 {
		t.Errorf("/identity/get called %d times", e.fp.Calls("/identity/get"))
	}

	// The repair's update mode asks for the connection's products again.
	repair := e.request(in, req.Products...)
	repair.OptionalProducts, repair.RepairLoginID = req.OptionalProducts, step.LoginID
	start, err = e.p.StartLogin(t.Context(), repair)
	if err != nil {
		t.Fatal(err)
	}
	tokens := e.fp.LinkTokenRequests()
	if lt := tokens[len(tokens)-1]; lt.ItemID != step.LoginID || len(lt.Products) != 0 ||
		!slices.Equal(lt.AdditionalConsentedProducts, []string{"identity", "transactions"}) {
		t.Errorf("update-mode Link token for %q: products %v, additional consented %v", lt.ItemID, lt.Products, lt.AdditionalConsentedProducts)
	}
	visit(t, start.RedirectURL, nil)
	if _, err := e.p.CompleteRedirect(t.Context(), repair, nil); err != nil {
		t.Fatal(err)
	}
	if accts := aggregate(); len(accts[0].Owners) == 0 {
		t.Error("no owners after the customer granted them in the repair")
	}
}
