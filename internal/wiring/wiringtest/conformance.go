package wiringtest

import "fmt"

// upstream is what a provider holds for one login, in the lines
// conformance compares: read from the provider's own records (the
// sandbox bank, the fake Plaid's Item, the fake MX's member) and mapped
// by the provider's documented rules, never through the adapter under
// test.
type Upstream struct {
	Accounts, Transactions, Holdings []string
}

func AccountLine(name, typ, mask string, current float64, currency, routing, number, owner string) string {
	return fmt.Sprintf("%s %s ••%s %.2f %s ach=%s/%s owner=%s", name, typ, mask, current, currency, routing, number, owner)
}

func TransactionLine(mask, date string, amount float64, status, description string) string {
	return fmt.Sprintf("••%s %s %.2f %s %s", mask, date, amount, status, description)
}

func HoldingLine(symbol string, quantity, value float64) string {
	return fmt.Sprintf("%s %.4f %.2f", symbol, quantity, value)
}
