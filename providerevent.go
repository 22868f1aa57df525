package banklink

import (
	"context"
	"net/http"
)

// ProviderEventKind classifies what a provider reports, unprompted,
// about one of its logins.
type ProviderEventKind int

// The kinds of provider events.
const (
	// ProviderEventIgnored: nothing for banklink to do.
	ProviderEventIgnored ProviderEventKind = iota
	// ProviderDataChanged: the provider has new data for the login;
	// aggregate the connections that hold one of ProviderEvent.Products.
	ProviderDataChanged
	// ProviderLoginFailed: the login stopped working; ProviderEvent.Err
	// is the failure as an aggregation would have met it.
	ProviderLoginFailed
	// ProviderAccessExpiring: the login's consent expires soon; the
	// customer should repair it before then.
	ProviderAccessExpiring
	// ProviderLoginRepaired: the login works again, repaired outside
	// banklink's widget.
	ProviderLoginRepaired
)

// ProviderEvent is what a provider's webhook asks banklink to do for the
// connections holding one login.
type ProviderEvent struct {
	Kind ProviderEventKind
	// ProviderType and LoginID name the login (a Plaid Item).
	ProviderType string
	LoginID      string
	// Name is the provider's own name for the event, for logs
	// ("TRANSACTIONS SYNC_UPDATES_AVAILABLE").
	Name string
	// Products, for ProviderDataChanged, are the products whose data
	// changed; a connection holding none of them has nothing to fetch.
	// Empty means any connection.
	Products []Product
	// Err, for ProviderLoginFailed, is the failure.
	Err error
}

// Wants reports whether a connection holding products (its products and
// optional products) has anything to fetch after e.
func (e ProviderEvent) Wants(products []Product) bool {
	if len(e.Products) == 0 {
		return true
	}
	set := NewProductSet(products...)
	for _, p := range e.Products {
		if set.Has(p) {
			return true
		}
	}
	return false
}

// WebhookReceiver is a provider that sends webhooks about its logins:
// ReceiveWebhook verifies one request (the provider's signature) and
// decodes it into events. A request that fails verification is an
// UNAUTHORIZED *Error, a malformed one BAD_REQUEST; any other error
// means it could not be verified now (the provider should retry).
type WebhookReceiver interface {
	ReceiveWebhook(ctx context.Context, header http.Header, body []byte) ([]ProviderEvent, error)
}
