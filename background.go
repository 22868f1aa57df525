package banklink

import "context"

type backgroundKey struct{}

// Background marks ctx as carrying work no person is waiting for (an
// aggregation run in the background): a store may let the writes of
// requests that someone waits for go first, and split background writes
// into short transactions so that those requests are not held behind them.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

// IsBackground reports whether ctx was marked by Background.
func IsBackground(ctx context.Context) bool {
	b, _ := ctx.Value(backgroundKey{}).(bool)
	return b
}

type bestEffortKey struct{}

// BestEffort marks ctx as carrying a write nobody needs to be durable
// before it returns (analytics: the activity log, the funnel; a provider
// health sample; a login attempt's forgiveness, where a lost write costs
// the customer one retry). A store
// may queue such a write behind the others and return at once, logging
// its failure, so that the person who caused it does not wait for it;
// the same store's reads of what it wrote still see it. The write
// outlives the request: ctx's cancellation is dropped.
func BestEffort(ctx context.Context) context.Context {
	return context.WithValue(context.WithoutCancel(ctx), bestEffortKey{}, true)
}

// IsBestEffort reports whether ctx was marked by BestEffort.
func IsBestEffort(ctx context.Context) bool {
	b, _ := ctx.Value(bestEffortKey{}).(bool)
	return b
}
