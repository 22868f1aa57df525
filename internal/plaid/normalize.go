package plaid

import (
	"strings"
	"time"

	"banklink"
)

// accountType maps Plaid's account type to banklink's.
func accountType(t string) string {
	switch t {
	case "depository":
		return "DEPOSITORY"
	case "credit":
		return "CREDIT"
	case "loan":
		return "LOAN"
	case "investment", "brokerage":
		// "brokerage" is the pre-2018 name of investment.
		return "INVESTMENT"
	}
	return "OTHER"
}

// subtype upper-cases Plaid's subtype with underscores ("credit card" →
// "CREDIT_CARD"), the shape of banklink's subtypes.
func subtype(s *string) string {
	if s == nil {
		return ""
	}
	return strings.ToUpper(strings.Join(strings.Fields(*s), "_"))
}

func currency(iso, unofficial *string) string {
	if iso != nil && *iso != "" {
		return *iso
	}
	return deref(unofficial)
}

// mapBalances converts Plaid balances. Both follow the same convention:
// positive, and for credit and loan accounts the amount owed. Plaid's
// current may be null where only available is known.
func mapBalances(b balances, now time.Time) *banklink.AccountBalances {
	if b.Current == nil && b.Available == nil {
		return nil
	}
	out := &banklink.AccountBalances{Currency: currency(b.ISOCurrencyCode, b.UnofficialCurrencyCode), AvailableAmount: b.Available,
		UpdatedAt: now.UTC().Truncate(time.Second)}
	if b.Current != nil {
		out.CurrentAmount = *b.Current
	} else {
		out.CurrentAmount = *b.Available
	}
	if b.LastUpdatedDatetime != nil {
		out.UpdatedAt = b.LastUpdatedDatetime.UTC()
	}
	return out
}

func mapOwner(o owner) banklink.Owner {
	out := banklink.Owner{Names: o.Names}
	for _, e := range o.Emails {
		out.Emails = append(out.Emails, e.Data)
	}
	for _, ph := range o.PhoneNumbers {
		out.PhoneNumbers = append(out.PhoneNumbers, ph.Data)
	}
	for _, a := range o.Addresses {
		out.Addresses = append(out.Addresses, banklink.Address{Street: deref(a.Data.Street), City: deref(a.Data.City),
			Region: deref(a.Data.Region), PostalCode: deref(a.Data.PostalCode), Country: deref(a.Data.Country),
			Primary: a.Primary != nil && *a.Primary})
	}
	return out
}

// mapTransaction converts a Plaid transaction. Plaid's amount already
// follows banklink's sign rule (positive when money leaves the account,
// e.g. a card purchase; negative when it arrives, e.g. a deposit or a
// refund), so it is kept as is. Plaid's date is the posting date of a
// posted transaction and the transaction date of a pending one; the
// authorised date, when known, is when the customer transacted.
//
// A posted transaction that replaced a pending one keeps the pending one's
// id (banklink keeps one transaction whose status changes) and its own id
// as the alias: Plaid may later remove it by that id.
func mapTransaction(t transaction) banklink.Transaction {
	id, alias := t.TransactionID, ""
	if !t.Pending && t.PendingTransactionID != nil && *t.PendingTransactionID != "" {
		id, alias = *t.PendingTransactionID, t.TransactionID
	}
	out := banklink.Transaction{ProviderTransactionID: id, ProviderAliasID: alias, Amount: t.Amount, Currency: currency(t.ISOCurrencyCode, t.UnofficialCurrencyCode),
		Description: description(t), TransactionDate: t.Date, Status: banklink.TxPosted,
		Category: category(t.PersonalFinanceCategory), Recurring: banklink.RecurringUnknown, Raw: t.raw}
	if t.AuthorizedDate != nil && *t.AuthorizedDate != "" {
		out.TransactionDate = *t.AuthorizedDate
	}
	if t.Pending {
		out.Status = banklink.TxPending
	} else {
		out.PostedDate = t.Date
	}
	return out
}

func description(t transaction) string {
	for _, s := range []*string{t.Name, t.OriginalDescription, t.MerchantName} {
		if s != nil && strings.TrimSpace(*s) != "" {
			return *s
		}
	}
	return ""
}

// category maps Plaid's personal finance category (primary, refined by
// the detailed category where Meld's list is finer or coarser) to one of
// banklink.TransactionCategories.
func category(c *pfc) string {
	if c == nil || c.Primary == "" {
		return "UNCATEGORIZED"
	}
	switch {
	case strings.HasSuffix(c.Detailed, "_INVESTMENT_AND_RETIREMENT_FUNDS"):
		return "INVESTMENTS"
	case c.Detailed == "GOVERNMENT_AND_NON_PROFIT_TAX_PAYMENT":
		return "TAXES"
	case c.Detailed == "GENERAL_SERVICES_EDUCATION":
		return "EDUCATION"
	case c.Detailed == "GENERAL_SERVICES_CHILDCARE":
		return "FAMILY"
	case c.Detailed == "GENERAL_SERVICES_AUTOMOTIVE":
		return "TRANSPORTATION"
	case c.Detailed == "PERSONAL_CARE_GYMS_AND_FITNESS_CENTERS":
		return "HEALTH"
	case c.Detailed == "RENT_AND_UTILITIES_RENT":
		return "HOME"
	}
	switch c.Primary {
	case "INCOME":
		return "INCOME"
	case "TRANSFER_IN", "TRANSFER_OUT":
		return "TRANSFER"
	case "LOAN_PAYMENTS", "LOAN_DISBURSEMENTS":
		return "LOAN"
	case "BANK_FEES":
		return "FEE"
	case "ENTERTAINMENT":
		return "ENTERTAINMENT"
	case "FOOD_AND_DRINK":
		return "FOOD_AND_DRINK"
	case "GENERAL_MERCHANDISE":
		return "SHOPPING"
	case "HOME_IMPROVEMENT":
		return "HOME"
	case "MEDICAL":
		return "MEDICAL"
	case "PERSONAL_CARE":
		return "HEALTH"
	case "GENERAL_SERVICES", "RENT_AND_UTILITIES":
		return "BILLS"
	case "TRANSPORTATION":
		return "TRANSPORTATION"
	case "TRAVEL":
		return "TRAVEL"
	}
	return "OTHER"
}

// holdingType maps Plaid's security type to one of banklink.HoldingTypes.
func holdingType(t *string) string {
	switch deref(t) {
	case "equity":
		return "STOCK"
	case "etf":
		return "ETF"
	case "mutual fund":
		return "MUTUALFUND"
	case "cash":
		return "CASH"
	case "derivative":
		return "DERIVATIVE"
	case "cryptocurrency":
		return "DIGITALASSET"
	}
	// "fixed income", "loan", "other".
	return "OTHER"
}

// mapHolding converts a Plaid holding; a holding has no id of its own, so
// the account and security identify it across aggregations.
func mapHolding(h holding, s security, now time.Time) banklink.Holding {
	return banklink.Holding{ProviderHoldingID: h.AccountID + "/" + h.SecurityID, Symbol: deref(s.TickerSymbol), Description: deref(s.Name),
		Quantity: h.Quantity, ClosePrice: h.InstitutionPrice, CurrentValue: h.InstitutionValue, CostBasis: h.CostBasis,
		Currency: currency(h.ISOCurrencyCode, h.UnofficialCurrencyCode), CUSIP: deref(s.CUSIP), ISIN: deref(s.ISIN),
		Type: holdingType(s.Type), UpdatedAt: now.UTC().Truncate(time.Second), Raw: h.raw}
}

// investmentType maps Plaid's investment transaction type to one of
// banklink.InvestmentTransactionTypes.
func investmentType(t string) string {
	switch t {
	case "buy":
		return "BUY"
	case "sell":
		return "SELL"
	case "cancel":
		return "CANCEL"
	case "cash":
		return "CASH"
	case "transfer":
		return "TRANSFER"
	}
	// "fee" and anything newer.
	return "OTHER"
}

// mapInvestmentTransaction converts a Plaid investment transaction. Plaid's
// amount is positive when cash leaves the account (a purchase) and
// negative when it arrives (a sale, a dividend): banklink's rule. Plaid
// reports settled investment transactions only.
func mapInvestmentTransaction(t investmentTransaction, s security) banklink.InvestmentTransaction {
	return banklink.InvestmentTransaction{ProviderTransactionID: t.InvestmentTransactionID, Amount: t.Amount, Quantity: t.Quantity,
		Price: t.Price, Symbol: deref(s.TickerSymbol), Description: t.Name, Currency: currency(t.ISOCurrencyCode, t.UnofficialCurrencyCode),
		TransactionDate: t.Date, PostedDate: t.Date, Status: banklink.TxPosted, Type: investmentType(t.Type), Raw: t.raw}
}
