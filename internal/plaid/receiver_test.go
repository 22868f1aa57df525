package plaid

import (
	"slices"
	"testing"

	"banklink"
)

// TestWebhookEvent: each Item event becomes the provider-neutral event
// of the same meaning, about the webhook's Item.
func TestWebhookEvent(t *testing.T) {
	for _, tc := range []struct {
		name     string
		hook     Webhook
		kind     banklink.ProviderEventKind
		products []banklink.Product
		err      bool
	}{
		{"data changed", Webhook{Type: "HOLDINGS", Code: "DEFAULT_UPDATE", ItemID: "i"}, banklink.ProviderDataChanged, []banklink.Product{banklink.InvestmentHoldings}, false},
		{"failed", Webhook{Type: "ITEM", Code: "USER_PERMISSION_REVOKED", ItemID: "i"}, banklink.ProviderLoginFailed, nil, true},
		{"expiring", Webhook{Type: "ITEM", Code: "PENDING_EXPIRATION", ItemID: "i"}, banklink.ProviderAccessExpiring, nil, false},
		{"repaired", Webhook{Type: "ITEM", Code: "LOGIN_REPAIRED", ItemID: "i"}, banklink.ProviderLoginRepaired, nil, false},
		{"ignored", Webhook{Type: "LINK", Code: "SESSION_FINISHED"}, banklink.ProviderEventIgnored, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.hook.Event()
			if e.Kind != tc.kind || !slices.Equal(e.Products, tc.products) || (e.Err != nil) != tc.err {
				t.Fatalf("event = %+v, want kind %d products %v error %v", e, tc.kind, tc.products, tc.err)
			}
			if e.ProviderType != ProviderType || e.LoginID != tc.hook.ItemID || e.Name != tc.hook.Type+" "+tc.hook.Code {
				t.Errorf("event names %s/%s %q, want %s/%s %q", e.ProviderType, e.LoginID, e.Name, ProviderType, tc.hook.ItemID, tc.hook.Type+" "+tc.hook.Code)
			}
		})
	}
}
