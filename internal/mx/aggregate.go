package mx

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"banklink"
)

// Aggregate implements banklink.Aggregator for a member linked through
// MX Connect.
//
// MX aggregates a member itself: when it is created in the widget, in
// the background about every 24 hours, and on POST …/aggregate. Aggregate
// reads the member's status first and
//
//   - waits (polling the status, bounded by AggregationWait and ctx) while
//     MX is aggregating it;
//   - otherwise asks for a new aggregation only when the last one is at
//     least MinAggregationInterval old. MX would decline an earlier one
//     anyway, and the data it has is then at most that old: right after
//     the widget (the initial window and the historical pass) and on a
//     refresh inside the interval the data is read as it is;
//   - returns ERATELIMITED (with RetryAt) when MX declines the aggregation
//     it was asked for (202 without starting, MX's answer within "the
//     default minimum time between standard aggs") or answers 429;
//   - maps a member that stopped working to a *banklink.ProviderError
//     (see classify).
//
// Then it reads the member's accounts, and for the requested products
// that MX supports at the institution their account and routing numbers,
// owners, transactions since req.Since (every page) and holdings.
//
// Aggregation uses the account's MX keys when the login was made with
// them (req.ProviderCredentials), else the deployment's.
func (p *Provider) Aggregate(ctx context.Context, req banklink.AggregationRequest) ([]banklink.AggregatedAccount, error) {
	userGUID, memberGUID, err := parseLoginID(req.LoginID)
	if err != nil {
		return nil, err
	}
	now := req.Now
	if now.IsZero() {
		now = p.cfg.Now()
	}
	k := p.keysFor(req.ProviderCredentials)
	var supported banklink.ProductSet
	if req.Institution != nil {
		supported = banklink.NewProductSet(req.Institution.Providers[ProviderType].Products...)
	}
	want := banklink.NewProductSet(req.Products...) & supported
	st, err := p.ensureAggregated(ctx, k, userGUID, memberGUID, want, now)
	if err != nil {
		return nil, mapError(err, phaseData, now)
	}
	out, err := p.read(ctx, k, req, userGUID, memberGUID, want, st, now)
	if err != nil {
		return nil, mapError(err, phaseData, now)
	}
	return out, nil
}

// lastAggregation is when MX last aggregated the member, successfully or
// not.
func lastAggregation(aggregatedAt, successfullyAt *string) time.Time {
	a, s := parseTime(aggregatedAt), parseTime(successfullyAt)
	if s.After(a) {
		return s
	}
	return a
}

// ensureAggregated brings the member to a finished aggregation (see
// Aggregate) and returns its final status.
func (p *Provider) ensureAggregated(ctx context.Context, k keys, userGUID, memberGUID string, want banklink.ProductSet, now time.Time) (memberStatus, error) {
	st, err := p.status(ctx, k, userGUID, memberGUID)
	if err != nil {
		return st, err
	}
	if !deref(st.IsBeingAggregated) {
		kind, serr := classify(deref(st.ConnectionStatus), phaseData)
		if kind == statusFailed {
			return st, serr
		}
		last := lastAggregation(st.AggregatedAt, st.SuccessfullyAggregatedAt)
		if kind == statusOK && !last.IsZero() && now.Sub(last) < p.cfg.MinAggregationInterval {
			// Fresh as MX allows: read it.
			return st, nil
		}
		if _, err := p.startAggregation(ctx, k, userGUID, memberGUID, want, last, now); err != nil {
			return st, err
		}
	}
	st, err = p.poll(ctx, k, userGUID, memberGUID, p.cfg.AggregationWait, func(st memberStatus) bool { return !deref(st.IsBeingAggregated) })
	if err != nil {
		return st, err
	}
	if deref(st.IsBeingAggregated) {
		return st, providerErr(banklink.LoginProviderDown, true, msgAggregating)
	}
	switch kind, serr := classify(deref(st.ConnectionStatus), phaseData); kind {
	case statusFailed:
		return st, serr
	case statusWorking:
		// Finished yet still "working" (e.g. CREATED): no data to trust.
		return st, providerErr(banklink.LoginProviderDown, true, msgAggregating)
	}
	return st, nil
}

// startAggregation asks MX to aggregate the member (POST …/aggregate,
// include_transactions and include_holdings as the products need). It
// reports whether an aggregation is running now (false also when it
// already finished); MX declining one is ERATELIMITED.
func (p *Provider) startAggregation(ctx context.Context, k keys, userGUID, memberGUID string, want banklink.ProductSet, last, now time.Time) (bool, error) {
	q := url.Values{}
	if !want.Has(banklink.Transactions) {
		q.Set("include_transactions", "false")
	}
	if !want.Has(banklink.InvestmentHoldings) {
		q.Set("include_holdings", "false")
	}
	var resp struct {
		Member member `json:"member"`
	}
	_, err := p.call(ctx, k, http.MethodPost, memberPath(userGUID, memberGUID)+"/aggregate", q, nil, &resp)
	if ae, ok := errors.AsType[*APIError](err); ok && ae.Status == http.StatusConflict {
		// Another kind of job (verification, extended history …) runs on
		// the member: wait for it like for an aggregation.
		return true, nil
	}
	if err != nil {
		return false, err
	}
	m := resp.Member
	if deref(m.IsBeingAggregated) {
		return true, nil
	}
	if got := lastAggregation(m.AggregatedAt, m.SuccessfullyAggregatedAt); got.After(last) {
		// Already finished.
		return false, nil
	}
	// 202 without an aggregation: within MX's minimum time between
	// standard aggregations.
	retry := last.Add(p.cfg.MinAggregationInterval)
	if !retry.After(now) {
		// MX's minimum is longer than configured, or the clocks differ:
		// the interval from now is an upper bound.
		retry = now.Add(p.cfg.MinAggregationInterval)
	}
	return false, rateLimited(ReasonAggregationTooRecent, retry, "MX aggregated this connection recently and does not aggregate it again yet", nil)
}

func (p *Provider) status(ctx context.Context, k keys, userGUID, memberGUID string) (memberStatus, error) {
	var resp struct {
		Member memberStatus `json:"member"`
	}
	_, err := p.call(ctx, k, http.MethodGet, memberPath(userGUID, memberGUID)+"/status", nil, nil, &resp)
	return resp.Member, err
}

// NextRefresh implements banklink.RefreshLimiter: when MX will next
// aggregate the login's member on request, the zero time when it would
// now, otherwise the last aggregation plus MinAggregationInterval. The
// refresh endpoint answers 429 with Retry-After until then instead of
// accepting a refresh MX would not perform.
func (p *Provider) NextRefresh(ctx context.Context, loginID string, credentials map[string]string, now time.Time) (time.Time, error) {
	userGUID, memberGUID, err := parseLoginID(loginID)
	if err != nil {
		return time.Time{}, err
	}
	st, err := p.status(ctx, p.keysFor(credentials), userGUID, memberGUID)
	if err != nil {
		return time.Time{}, mapError(err, phaseData, now)
	}
	last := lastAggregation(st.AggregatedAt, st.SuccessfullyAggregatedAt)
	if next := last.Add(p.cfg.MinAggregationInterval); !last.IsZero() && next.After(now) {
		return next, nil
	}
	return time.Time{}, nil
}

// RemoveLogin implements banklink.LoginRemover: it deletes the login's
// member at MX (for a deleted connection), so MX stops aggregating and
// billing for it. A member MX no longer has counts as deleted.
func (p *Provider) RemoveLogin(ctx context.Context, loginID string, credentials map[string]string) error {
	userGUID, memberGUID, err := parseLoginID(loginID)
	if err != nil {
		return err
	}
	_, err = p.call(ctx, p.keysFor(credentials), http.MethodDelete, memberPath(userGUID, memberGUID), nil, nil, nil)
	if ae, ok := errors.AsType[*APIError](err); ok && ae.Status == http.StatusNotFound {
		return nil
	}
	return mapError(err, phaseData, p.cfg.Now())
}

// read gathers the chosen accounts and the wanted products.
func (p *Provider) read(ctx context.Context, k keys, req banklink.AggregationRequest, userGUID, memberGUID string, want banklink.ProductSet, st memberStatus, now time.Time) ([]banklink.AggregatedAccount, error) {
	base := memberPath(userGUID, memberGUID)
	accts, err := listAll[account](ctx, p, k, base+"/accounts", "accounts", nil)
	if err != nil {
		return nil, err
	}
	asOf := parseTime(st.SuccessfullyAggregatedAt)
	if asOf.IsZero() {
		asOf = now
	}
	fallbackCurrency := currencyOf(req.Institution)
	var out []banklink.AggregatedAccount
	byID := map[string]int{}
	for _, a := range accts {
		if len(req.AccountIDs) > 0 && !slices.Contains(req.AccountIDs, a.GUID) {
			continue
		}
		typ, sub := accountType(a)
		agg := banklink.AggregatedAccount{ProviderAccountID: a.GUID, Type: typ, Subtype: sub, Name: a.displayName(), Mask: mask(a), Raw: a.raw}
		if want.Has(banklink.Balances) || want == 0 {
			agg.Balances = balances(a, typ, fallbackCurrency, asOf)
		}
		byID[a.GUID] = len(out)
		out = append(out, agg)
	}
	if want.Has(banklink.Identifiers) {
		nums, err := listAll[accountNumber](ctx, p, k, base+"/account_numbers", "account_numbers", nil)
		if err != nil {
			return nil, err
		}
		for _, n := range nums {
			if i, ok := byID[deref(n.AccountGUID)]; ok && out[i].Identifiers == nil {
				out[i].Identifiers = identifiers(n)
			}
		}
	}
	if want.Has(banklink.Owners) {
		owners, err := listAll[accountOwner](ctx, p, k, base+"/account_owners", "account_owners", nil)
		if err != nil {
			return nil, err
		}
		for _, o := range owners {
			if i, ok := byID[deref(o.AccountGUID)]; ok {
				out[i].Owners = append(out[i].Owners, owner(o))
			}
		}
	}
	if want.Has(banklink.Transactions) {
		q := url.Values{}
		if !req.Since.IsZero() {
			// MX defaults from_date to 120 days ago.
			q.Set("from_date", req.Since.UTC().Format(time.DateOnly))
		}
		txs, err := listAll[transaction](ctx, p, k, base+"/transactions", "transactions", q)
		if err != nil {
			return nil, err
		}
		for _, t := range txs {
			i, ok := byID[deref(t.AccountGUID)]
			if !ok {
				continue
			}
			cur := fallbackCurrency
			if out[i].Balances != nil && out[i].Balances.Currency != "" {
				cur = out[i].Balances.Currency
			}
			out[i].Transactions = append(out[i].Transactions, convertTransaction(t, cur))
		}
	}
	if want.Has(banklink.InvestmentHoldings) {
		hs, err := listAll[holding](ctx, p, k, base+"/investment_holdings", "investment_holdings", nil)
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			if i, ok := byID[deref(h.AccountGUID)]; ok {
				out[i].Holdings = append(out[i].Holdings, convertHolding(h, fallbackCurrency, asOf))
			}
		}
	}
	return out, nil
}
