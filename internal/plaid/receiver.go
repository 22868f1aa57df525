package plaid

import (
	"context"
	"net/http"

	"banklink"
)

var _ banklink.WebhookReceiver = (*Provider)(nil)

// eventKinds maps Item event kinds to provider-neutral ones.
var eventKinds = map[ItemEventKind]banklink.ProviderEventKind{
	ItemIgnored:     banklink.ProviderEventIgnored,
	ItemDataChanged: banklink.ProviderDataChanged,
	ItemFailed:      banklink.ProviderLoginFailed,
	ItemExpiring:    banklink.ProviderAccessExpiring,
	ItemRepaired:    banklink.ProviderLoginRepaired,
}

// Event is w as a provider-neutral event about its Item.
func (w *Webhook) Event() banklink.ProviderEvent {
	ev := w.ItemEvent()
	return banklink.ProviderEvent{Kind: eventKinds[ev.Kind], ProviderType: ProviderType, LoginID: w.ItemID,
		Name: w.Type + " " + w.Code, Products: ev.Products, Err: ev.Err}
}

// ReceiveWebhook implements banklink.WebhookReceiver: VerifyWebhook,
// then the webhook's Event.
func (p *Provider) ReceiveWebhook(ctx context.Context, header http.Header, body []byte) ([]banklink.ProviderEvent, error) {
	w, err := p.VerifyWebhook(ctx, header, body)
	if err != nil {
		return nil, err
	}
	return []banklink.ProviderEvent{w.Event()}, nil
}
