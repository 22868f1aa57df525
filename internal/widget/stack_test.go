package widget_test

import (
	"testing"

	"banklink"
	"banklink/internal/finicity"
	"banklink/internal/finicity/fakefinicity"
	"banklink/internal/mx"
	"banklink/internal/mx/fakemx"
	"banklink/internal/plaid/fakeplaid"
	"banklink/internal/widget"
	"banklink/internal/wiring/wiringtest"
)

// The widget's tests run on the assembled service (wiringtest); these
// short names keep them readable.
type stack = wiringtest.Stack

const secret = wiringtest.Secret

var (
	directory    = wiringtest.Directory
	newStack     = wiringtest.New
	newStackWith = wiringtest.NewWith
	noRedirects  = wiringtest.NoRedirects
	mxFormAction = wiringtest.MXFormAction
)

func newStackWithProviders(t testing.TB, order []string, logins map[string]banklink.InteractiveLogin, aggs map[string]banklink.Aggregator) *stack {
	return wiringtest.NewWithProviders(t, order, logins, aggs)
}

func newStackBuilt(t testing.TB, order []string, build func(st *stack) (map[string]banklink.InteractiveLogin, map[string]banklink.Aggregator)) *stack {
	return wiringtest.NewBuilt(t, order, build)
}

func newStackConfigured(t testing.TB, order []string, build func(st *stack) (map[string]banklink.InteractiveLogin, map[string]banklink.Aggregator), configure func(*widget.Config)) *stack {
	return wiringtest.NewConfigured(t, order, build, configure)
}

func newPlaidStack(t testing.TB) (*stack, *fakeplaid.Server) { return wiringtest.NewPlaid(t) }

func newPlaidStackSecret(t testing.TB, secret string) (*stack, *fakeplaid.Server) {
	return wiringtest.NewPlaidSecret(t, secret)
}

func newMXStack(t testing.TB, redirect bool) (*stack, *fakemx.Server) {
	return wiringtest.NewMX(t, redirect)
}

func newMXStackConfig(t testing.TB, cfg mx.Config) (*stack, *fakemx.Server) {
	return wiringtest.NewMXConfig(t, cfg)
}

func newFinicityStack(t testing.TB, cfg finicity.Config) (*stack, *fakefinicity.Server, *finicity.Provider) {
	return wiringtest.NewFinicity(t, cfg)
}

func newFinicityStackOrder(t testing.TB, cfg finicity.Config, order []string,
	more func(st *stack) (map[string]banklink.InteractiveLogin, map[string]banklink.Aggregator)) (*stack, *fakefinicity.Server, *finicity.Provider) {
	return wiringtest.NewFinicityOrder(t, cfg, order, more)
}
