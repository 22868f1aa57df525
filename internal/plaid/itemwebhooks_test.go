package plaid

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"banklink"
)

func TestItemEvent(t *testing.T) {
	const loginRequired = `"error": {"error_type": "ITEM_ERROR", "error_code": "ITEM_LOGIN_REQUIRED", "error_message": "the login details of this item have changed", "display_message": null}`
	for _, tc := range []struct {
		name       string
		body       string
		kind       ItemEventKind
		products   []banklink.Product
		failReason string // ProviderError reason of Err, for ItemFailed
	}{
		{"sync updates", `{"webhook_type": "TRANSACTIONS", "webhook_code": "SYNC_UPDATES_AVAILABLE", "item_id": "i", "initial_update_complete": true, "historical_update_complete": false}`,
			ItemDataChanged, []banklink.Product{banklink.Transactions}, ""},
		// The /transactions/get webhooks Plaid also sends for Items on
		// /transactions/sync: SYNC_UPDATES_AVAILABLE covers their changes.
		{"legacy default update", `{"webhook_type": "TRANSACTIONS", "webhook_code": "DEFAULT_UPDATE", "item_id": "i", "new_transactions": 3, "error": null}`,
			ItemIgnored, nil, ""},
		{"legacy initial update", `{"webhook_type": "TRANSACTIONS", "webhook_code": "INITIAL_UPDATE", "item_id": "i", "new_transactions": 19}`,
			ItemIgnored, nil, ""},
		{"legacy initial update with its error code", `{"webhook_type": "TRANSACTIONS", "webhook_code": "INITIAL_UPDATE", "item_id": "i", "new_transactions": 0, "error": "ITEM_LOGIN_REQUIRED"}`,
			ItemIgnored, nil, ""},
		{"legacy historical update", `{"webhook_type": "TRANSACTIONS", "webhook_code": "HISTORICAL_UPDATE", "item_id": "i", "new_transactions": 231}`,
			ItemIgnored, nil, ""},
		{"legacy transactions removed", `{"webhook_type": "TRANSACTIONS", "webhook_code": "TRANSACTIONS_REMOVED", "item_id": "i", "removed_transactions": ["t"]}`,
			ItemIgnored, nil, ""},
		{"holdings", `{"webhook_type": "HOLDINGS", "webhook_code": "DEFAULT_UPDATE", "item_id": "i", "new_holdings": 1, "updated_holdings": 2}`,
			ItemDataChanged, []banklink.Product{banklink.InvestmentHoldings}, ""},
		{"investment transactions", `{"webhook_type": "INVESTMENTS_TRANSACTIONS", "webhook_code": "DEFAULT_UPDATE", "item_id": "i", "new_investments_transactions": 1}`,
			ItemDataChanged, []banklink.Product{banklink.InvestmentTransactions}, ""},
		{"account revoked", `{"webhook_type": "ITEM", "webhook_code": "USER_ACCOUNT_REVOKED", "item_id": "i", "account_id": "a"}`,
			ItemDataChanged, nil, ""},
		{"login required", `{"webhook_type": "ITEM", "webhook_code": "ERROR", "item_id": "i", ` + loginRequired + `}`,
			ItemFailed, nil, banklink.LoginInvalidCredentials},
		{"locked", `{"webhook_type": "ITEM", "webhook_code": "ERROR", "item_id": "i", "error": {"error_type": "ITEM_ERROR", "error_code": "ITEM_LOCKED"}}`,
			ItemFailed, nil, banklink.LoginLocked},
		{"error without an error object", `{"webhook_type": "ITEM", "webhook_code": "ERROR", "item_id": "i", "error": null}`,
			ItemIgnored, nil, ""},
		{"permission revoked", `{"webhook_type": "ITEM", "webhook_code": "USER_PERMISSION_REVOKED", "item_id": "i", "error": {"error_type": "ITEM_ERROR", "error_code": "USER_PERMISSION_REVOKED"}}`,
			ItemFailed, nil, banklink.LoginInvalidCredentials},
		{"pending expiration", `{"webhook_type": "ITEM", "webhook_code": "PENDING_EXPIRATION", "item_id": "i", "consent_expiration_time": "2026-12-01T00:00:00Z"}`,
			ItemExpiring, nil, ""},
		{"pending disconnect", `{"webhook_type": "ITEM", "webhook_code": "PENDING_DISCONNECT", "item_id": "i", "reason": "INSTITUTION_TOKEN_EXPIRATION"}`,
			ItemExpiring, nil, ""},
		{"login repaired", `{"webhook_type": "ITEM", "webhook_code": "LOGIN_REPAIRED", "item_id": "i"}`, ItemRepaired, nil, ""},
		{"webhook URL updated", `{"webhook_type": "ITEM", "webhook_code": "WEBHOOK_UPDATE_ACKNOWLEDGED", "item_id": "i", "new_webhook_url": "https://x"}`,
			ItemIgnored, nil, ""},
		{"Link session", `{"webhook_type": "LINK", "webhook_code": "SESSION_FINISHED", "status": "SUCCESS", "link_token": "l"}`, ItemIgnored, nil, ""},
		{"unknown type", `{"webhook_type": "TRANSFER", "webhook_code": "TRANSFER_EVENTS_UPDATE"}`, ItemIgnored, nil, ""},
		{"no item", `{"webhook_type": "TRANSACTIONS", "webhook_code": "SYNC_UPDATES_AVAILABLE"}`, ItemIgnored, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w Webhook
			if err := json.Unmarshal([]byte(tc.body), &w); err != nil {
				t.Fatal(err)
			}
			e := w.ItemEvent()
			if e.Kind != tc.kind || !slices.Equal(e.Products, tc.products) {
				t.Fatalf("event = %+v, want kind %d products %v", e, tc.kind, tc.products)
			}
			pe, _ := errors.AsType[*banklink.ProviderError](e.Err)
			if (tc.failReason == "") != (e.Err == nil) || (tc.failReason != "" && (pe == nil || pe.Reason != tc.failReason)) {
				t.Errorf("err = %v, want reason %q", e.Err, tc.failReason)
			}
		})
	}
}

func TestItemEventWants(t *testing.T) {
	balances := []banklink.Product{banklink.Balances}
	withTx := []banklink.Product{banklink.Balances, banklink.Transactions}
	for _, tc := range []struct {
		name  string
		event ItemEvent
		held  []banklink.Product
		want  bool
	}{
		{"new transactions, balances only", changed(banklink.Transactions), balances, false},
		{"new transactions, transactions held", changed(banklink.Transactions), withTx, true},
		{"any product", changed(), balances, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.event.Wants(tc.held); got != tc.want {
				t.Errorf("Wants(%v) = %v", tc.held, got)
			}
		})
	}
}
