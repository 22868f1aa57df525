package fakeplaid

import (
	"net/http"
	"slices"
	"time"
)

// ProcessorToken is a token the fake handed out for one of an Item's
// accounts, as a processor would see it.
type ProcessorToken struct {
	Token, ItemID, AccountID string
	// Processor is Plaid's name ("dwolla"), "stripe" for a Stripe bank
	// account token.
	Processor string
}

type processorTokenRequest struct {
	auth
	AccessToken string `json:"access_token"`
	AccountID   string `json:"account_id"`
	Processor   string `json:"processor"`
}

// processorAccount finds the request's Item and account.
func (s *Server) processorAccount(req processorTokenRequest) (*Item, error) {
	if err := required("access_token", req.AccessToken, "account_id", req.AccountID); err != nil {
		return nil, err
	}
	it, err := s.item(req.AccessToken)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(it.Accounts, func(a *Account) bool { return a.ID == req.AccountID }) {
		return nil, fail("INVALID_ACCOUNT_ID", "%s", req.AccountID)
	}
	return it, nil
}

// processorTokenCreate is /processor/token/create: a token per call (Plaid
// makes several for one access token when asked, one per processor).
func (s *Server) processorTokenCreate(r *http.Request, body []byte) (any, error) {
	var req processorTokenRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := required("processor", req.Processor); err != nil {
		return nil, err
	}
	it, err := s.processorAccount(req)
	if err != nil {
		return nil, err
	}
	tok := "processor-sandbox-" + s.id("pt")
	s.processorTokens = append(s.processorTokens, ProcessorToken{Token: tok, ItemID: it.ID, AccountID: req.AccountID, Processor: req.Processor})
	return map[string]any{"processor_token": tok}, nil
}

// stripeTokenCreate is /processor/stripe/bank_account_token/create.
func (s *Server) stripeTokenCreate(r *http.Request, body []byte) (any, error) {
	var req processorTokenRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.Processor != "" {
		return nil, fail("UNKNOWN_FIELDS", "processor")
	}
	it, err := s.processorAccount(req)
	if err != nil {
		return nil, err
	}
	tok := "btok_" + s.id("stripe")
	s.processorTokens = append(s.processorTokens, ProcessorToken{Token: tok, ItemID: it.ID, AccountID: req.AccountID, Processor: "stripe"})
	return map[string]any{"stripe_bank_account_token": tok}, nil
}

// ProcessorTokens lists the tokens handed out, oldest first.
func (s *Server) ProcessorTokens() []ProcessorToken {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.processorTokens)
}

// itemWebhookUpdate is /item/webhook/update: the Item's webhooks go to
// the new URL from now on, starting with WEBHOOK_UPDATE_ACKNOWLEDGED.
func (s *Server) itemWebhookUpdate(r *http.Request, body []byte) (any, error) {
	var req struct {
		auth
		AccessToken string  `json:"access_token"`
		Webhook     *string `json:"webhook"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	it, err := s.item(req.AccessToken)
	if err != nil {
		return nil, err
	}
	it.Webhook = ""
	if req.Webhook != nil {
		it.Webhook = *req.Webhook
	}
	if it.Webhook != "" {
		s.queueWebhook(it.Webhook, s.itemWebhook(it, "ITEM", "WEBHOOK_UPDATE_ACKNOWLEDGED"))
	}
	return map[string]any{"item": itemJSON(it)}, nil
}

// NewItem creates an Item at the institution as an app linking with Plaid
// directly would (Plaid's /sandbox/public_token/create and exchange),
// with the given products and webhook URL. Its AccessToken is what the
// app holds.
func (s *Server) NewItem(institutionID, webhook string, products ...string) *Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.institutions, func(in *Institution) bool { return in.ID == institutionID })
	if i < 0 {
		panic("fakeplaid: no institution " + institutionID)
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	return s.newItem(s.institutions[i], linkTokenCreateRequest{Products: products, Webhook: webhook}, nil, now)
}

// RemoveItem removes an Item as /item/remove does: its access token no
// longer works.
func (s *Server) RemoveItem(itemID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it := s.items[itemID]; it != nil {
		it.removed = true
	}
}
