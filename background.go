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
