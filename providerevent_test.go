package banklink

import "testing"

func TestProviderEventWants(t *testing.T) {
	balances := []Product{Balances}
	withTx := []Product{Balances, Transactions}
	for _, tc := range []struct {
		name  string
		event ProviderEvent
		held  []Product
		want  bool
	}{
		{"new transactions, balances only", ProviderEvent{Kind: ProviderDataChanged, Products: []Product{Transactions}}, balances, false},
		{"new transactions, transactions held", ProviderEvent{Kind: ProviderDataChanged, Products: []Product{Transactions}}, withTx, true},
		{"any product", ProviderEvent{Kind: ProviderDataChanged}, balances, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.event.Wants(tc.held); got != tc.want {
				t.Errorf("Wants(%v) = %v, want %v", tc.held, got, tc.want)
			}
		})
	}
}
