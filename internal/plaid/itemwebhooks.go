package plaid

import (
	"banklink"
)

// What Plaid's Item webhooks mean for the banklink connections holding
// the Item (https://plaid.com/docs/api/items/#webhooks and each product's
// webhooks). Plaid sends them to Config.WebhookURL, given to every Link
// token and so to every Item it creates.

// ItemEventKind classifies an Item webhook.
type ItemEventKind int

// The kinds of Item events.
const (
	// ItemIgnored: nothing for banklink to do (LINK webhooks, products
	// banklink does not use, codes it does not know).
	ItemIgnored ItemEventKind = iota
	// ItemDataChanged: Plaid has new data for the Item; aggregate the
	// connections that hold one of ItemEvent.Products.
	ItemDataChanged
	// ItemFailed: the Item stopped working; ItemEvent.Err is the failure
	// as an aggregation would have met it.
	ItemFailed
	// ItemExpiring: the Item's consent expires, or the institution
	// disconnects it, soon; the customer should log in again through
	// update mode before then.
	ItemExpiring
	// ItemRepaired: the Item left ITEM_LOGIN_REQUIRED without banklink's
	// widget (LOGIN_REPAIRED): it works again.
	ItemRepaired
)

// ItemEvent is what an Item webhook asks banklink to do.
type ItemEvent struct {
	Kind ItemEventKind
	// Products, for ItemDataChanged, are the banklink products whose data
	// changed; a connection holding none of them has nothing to fetch.
	// Empty means any connection.
	Products []banklink.Product
	// Err, for ItemFailed, is the failure.
	Err error
}

func changed(products ...banklink.Product) ItemEvent {
	return ItemEvent{Kind: ItemDataChanged, Products: products}
}

// ItemEvent classifies w. Webhooks without an item_id are ignored.
func (w *Webhook) ItemEvent() ItemEvent {
	if w.ItemID == "" {
		return ItemEvent{}
	}
	switch w.Type + " " + w.Code {
	case "TRANSACTIONS SYNC_UPDATES_AVAILABLE":
		// Balance-only connections are linked with the transactions
		// product too (Config.BalanceProduct) but do not need a
		// (billed) aggregation for new transactions.
		return changed(banklink.Transactions)
	case "TRANSACTIONS DEFAULT_UPDATE", "TRANSACTIONS INITIAL_UPDATE", "TRANSACTIONS HISTORICAL_UPDATE", "TRANSACTIONS TRANSACTIONS_REMOVED":
		// The /transactions/get webhooks. banklink reads transactions
		// with /transactions/sync only, and Plaid keeps sending these
		// for its Items "to maintain backwards compatibility"; "it is
		// not necessary to listen for and respond to those webhooks
		// when using /transactions/sync" (Plaid's spec). Every change
		// they announce comes with a SYNC_UPDATES_AVAILABLE too: acting
		// on both aggregated each update twice, with a billed balance
		// call each time.
		return ItemEvent{}
	case "HOLDINGS DEFAULT_UPDATE":
		return changed(banklink.InvestmentHoldings)
	case "INVESTMENTS_TRANSACTIONS DEFAULT_UPDATE":
		return changed(banklink.InvestmentTransactions)
	case "AUTH DEFAULT_UPDATE":
		// Account or routing numbers changed.
		return changed(banklink.Identifiers)
	case "IDENTITY DEFAULT_UPDATE":
		return changed(banklink.Owners)
	case "ITEM USER_ACCOUNT_REVOKED":
		// One account's access was revoked: the next aggregation no
		// longer sees it and reports it removed.
		return changed()
	case "ITEM ERROR":
		if w.Error == nil || w.Error.ErrorCode == "" {
			return ItemEvent{}
		}
		return ItemEvent{Kind: ItemFailed, Err: mapError(w.Error, phaseData)}
	case "ITEM USER_PERMISSION_REVOKED":
		// Whatever error comes with it, the Item cannot be restored: only
		// a new login helps.
		return ItemEvent{Kind: ItemFailed, Err: &banklink.ProviderError{Reason: banklink.LoginInvalidCredentials, DisplayMessage: msgLoginAgain}}
	case "ITEM PENDING_EXPIRATION", "ITEM PENDING_DISCONNECT":
		return ItemEvent{Kind: ItemExpiring}
	case "ITEM LOGIN_REPAIRED":
		return ItemEvent{Kind: ItemRepaired}
	}
	return ItemEvent{}
}

// Wants reports whether a connection holding products (its products and
// optional products) has anything to fetch after e.
func (e ItemEvent) Wants(products []banklink.Product) bool {
	if len(e.Products) == 0 {
		return true
	}
	set := banklink.NewProductSet(products...)
	for _, p := range e.Products {
		if set.Has(p) {
			return true
		}
	}
	return false
}
