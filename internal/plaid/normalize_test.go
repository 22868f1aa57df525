package plaid

import (
	"slices"
	"testing"
	"time"

	"banklink"

	"github.com/google/go-cmp/cmp"
)

func TestAccountTypes(t *testing.T) {
	for _, tc := range []struct{ typ, sub, wantType, wantSub string }{
		{"depository", "checking", "DEPOSITORY", "CHECKING"},
		{"depository", "money market", "DEPOSITORY", "MONEY_MARKET"},
		{"credit", "credit card", "CREDIT", "CREDIT_CARD"},
		{"loan", "student", "LOAN", "STUDENT"},
		{"investment", "401k", "INVESTMENT", "401K"},
		{"brokerage", "roth", "INVESTMENT", "ROTH"},
		{"other", "prepaid", "OTHER", "PREPAID"},
		{"payroll", "", "OTHER", ""},
	} {
		t.Run(tc.typ+"/"+tc.sub, func(t *testing.T) {
			if got := accountType(tc.typ); got != tc.wantType {
				t.Errorf("accountType = %q, want %q", got, tc.wantType)
			}
			var sub *string
			if tc.sub != "" {
				sub = &tc.sub
			}
			if got := subtype(sub); got != tc.wantSub {
				t.Errorf("subtype = %q, want %q", got, tc.wantSub)
			}
		})
	}
}

func TestCategories(t *testing.T) {
	for _, tc := range []struct {
		primary, detailed, want string
	}{
		{"", "", "UNCATEGORIZED"},
		{"INCOME", "INCOME_WAGES", "INCOME"},
		{"TRANSFER_IN", "TRANSFER_IN_ACCOUNT_TRANSFER", "TRANSFER"},
		{"TRANSFER_OUT", "TRANSFER_OUT_INVESTMENT_AND_RETIREMENT_FUNDS", "INVESTMENTS"},
		{"TRANSFER_IN", "TRANSFER_IN_INVESTMENT_AND_RETIREMENT_FUNDS", "INVESTMENTS"},
		{"LOAN_PAYMENTS", "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT", "LOAN"},
		{"LOAN_DISBURSEMENTS", "LOAN_DISBURSEMENTS_OTHER_DISBURSEMENT", "LOAN"},
		{"BANK_FEES", "BANK_FEES_ATM_FEES", "FEE"},
		{"ENTERTAINMENT", "ENTERTAINMENT_TV_AND_MOVIES", "ENTERTAINMENT"},
		{"FOOD_AND_DRINK", "FOOD_AND_DRINK_GROCERIES", "FOOD_AND_DRINK"},
		{"GENERAL_MERCHANDISE", "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES", "SHOPPING"},
		{"HOME_IMPROVEMENT", "HOME_IMPROVEMENT_HARDWARE", "HOME"},
		{"MEDICAL", "MEDICAL_PHARMACIES_AND_SUPPLEMENTS", "MEDICAL"},
		{"PERSONAL_CARE", "PERSONAL_CARE_HAIR_AND_BEAUTY", "HEALTH"},
		{"PERSONAL_CARE", "PERSONAL_CARE_GYMS_AND_FITNESS_CENTERS", "HEALTH"},
		{"GENERAL_SERVICES", "GENERAL_SERVICES_INSURANCE", "BILLS"},
		{"GENERAL_SERVICES", "GENERAL_SERVICES_EDUCATION", "EDUCATION"},
		{"GENERAL_SERVICES", "GENERAL_SERVICES_CHILDCARE", "FAMILY"},
		{"GENERAL_SERVICES", "GENERAL_SERVICES_AUTOMOTIVE", "TRANSPORTATION"},
		{"GOVERNMENT_AND_NON_PROFIT", "GOVERNMENT_AND_NON_PROFIT_TAX_PAYMENT", "TAXES"},
		{"GOVERNMENT_AND_NON_PROFIT", "GOVERNMENT_AND_NON_PROFIT_DONATIONS", "OTHER"},
		{"TRANSPORTATION", "TRANSPORTATION_GAS", "TRANSPORTATION"},
		{"TRAVEL", "TRAVEL_FLIGHTS", "TRAVEL"},
		{"RENT_AND_UTILITIES", "RENT_AND_UTILITIES_RENT", "HOME"},
		{"RENT_AND_UTILITIES", "RENT_AND_UTILITIES_GAS_AND_ELECTRICITY", "BILLS"},
		{"SOMETHING_NEW", "SOMETHING_NEW_X", "OTHER"},
	} {
		t.Run(tc.detailed, func(t *testing.T) {
			var c *pfc
			if tc.primary != "" {
				c = &pfc{Primary: tc.primary, Detailed: tc.detailed}
			}
			got := category(c)
			if got != tc.want {
				t.Errorf("category = %q, want %q", got, tc.want)
			}
			if !slices.Contains(banklink.TransactionCategories, got) {
				t.Errorf("%q is not one of banklink's categories", got)
			}
		})
	}
}

func TestMapTransaction(t *testing.T) {
	usd := "USD"
	for _, tc := range []struct {
		name string
		in   transaction
		want banklink.Transaction
	}{
		{"purchase keeps its positive amount",
			transaction{TransactionID: "t1", Amount: 89.4, ISOCurrencyCode: &usd, Date: "2024-01-15", Name: strp("Uber 063015 SF**POOL**")},
			banklink.Transaction{ProviderTransactionID: "t1", Amount: 89.4, Currency: "USD", Description: "Uber 063015 SF**POOL**",
				TransactionDate: "2024-01-15", PostedDate: "2024-01-15", Status: banklink.TxPosted, Category: "UNCATEGORIZED", Recurring: banklink.RecurringUnknown}},
		{"deposit keeps its negative amount; authorized date is the transaction date",
			transaction{TransactionID: "t2", Amount: -2500, UnofficialCurrencyCode: strp("BTC"), Date: "2024-01-02", AuthorizedDate: strp("2024-01-01"),
				Name: strp("PAYROLL"), PersonalFinanceCategory: &pfc{Primary: "INCOME", Detailed: "INCOME_WAGES"}},
			banklink.Transaction{ProviderTransactionID: "t2", Amount: -2500, Currency: "BTC", Description: "PAYROLL",
				TransactionDate: "2024-01-01", PostedDate: "2024-01-02", Status: banklink.TxPosted, Category: "INCOME", Recurring: banklink.RecurringUnknown}},
		{"pending has no posted date",
			transaction{TransactionID: "t3", Amount: 4.33, Date: "2024-01-03", Pending: true, MerchantName: strp("Starbucks")},
			banklink.Transaction{ProviderTransactionID: "t3", Amount: 4.33, Description: "Starbucks", TransactionDate: "2024-01-03",
				Status: banklink.TxPending, Category: "UNCATEGORIZED", Recurring: banklink.RecurringUnknown}},
		{"posted replacing a pending one takes its id, its own as the alias",
			transaction{TransactionID: "t4", Amount: 12.99, Date: "2024-01-05", PendingTransactionID: strp("t3"), Name: strp("Netflix")},
			banklink.Transaction{ProviderTransactionID: "t3", ProviderAliasID: "t4", Amount: 12.99, Description: "Netflix", TransactionDate: "2024-01-05",
				PostedDate: "2024-01-05", Status: banklink.TxPosted, Category: "UNCATEGORIZED", Recurring: banklink.RecurringUnknown}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, mapTransaction(tc.in)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMapBalances(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	f := func(v float64) *float64 { return &v }
	usd := "USD"
	for _, tc := range []struct {
		name string
		in   balances
		want *banklink.AccountBalances
	}{
		{"none", balances{}, nil},
		{"current and available", balances{Current: f(110), Available: f(100), ISOCurrencyCode: &usd},
			&banklink.AccountBalances{Currency: "USD", CurrentAmount: 110, AvailableAmount: f(100), UpdatedAt: now}},
		{"card owed", balances{Current: f(410), Limit: f(2000), ISOCurrencyCode: &usd},
			&banklink.AccountBalances{Currency: "USD", CurrentAmount: 410, UpdatedAt: now}},
		{"available only", balances{Available: f(50), ISOCurrencyCode: &usd},
			&banklink.AccountBalances{Currency: "USD", CurrentAmount: 50, AvailableAmount: f(50), UpdatedAt: now}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mapBalances(tc.in, now)
			if (got == nil) != (tc.want == nil) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if got == nil {
				return
			}
			if got.Currency != tc.want.Currency || got.CurrentAmount != tc.want.CurrentAmount || !got.UpdatedAt.Equal(tc.want.UpdatedAt) ||
				(got.AvailableAmount == nil) != (tc.want.AvailableAmount == nil) || (got.AvailableAmount != nil && *got.AvailableAmount != *tc.want.AvailableAmount) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestInvestmentTypes(t *testing.T) {
	for _, tc := range []struct{ plaid, want string }{
		{"buy", "BUY"}, {"sell", "SELL"}, {"cancel", "CANCEL"}, {"cash", "CASH"}, {"fee", "OTHER"}, {"transfer", "TRANSFER"}, {"new", "OTHER"},
	} {
		t.Run(tc.plaid, func(t *testing.T) {
			got := investmentType(tc.plaid)
			if got != tc.want || !slices.Contains(banklink.InvestmentTransactionTypes, got) {
				t.Errorf("investmentType(%q) = %q, want %q", tc.plaid, got, tc.want)
			}
		})
	}
	for _, tc := range []struct{ plaid, want string }{
		{"equity", "STOCK"}, {"etf", "ETF"}, {"mutual fund", "MUTUALFUND"}, {"cash", "CASH"}, {"derivative", "DERIVATIVE"},
		{"cryptocurrency", "DIGITALASSET"}, {"fixed income", "OTHER"}, {"loan", "OTHER"}, {"other", "OTHER"},
	} {
		t.Run("security "+tc.plaid, func(t *testing.T) {
			got := holdingType(&tc.plaid)
			if got != tc.want || !slices.Contains(banklink.HoldingTypes, got) {
				t.Errorf("holdingType(%q) = %q, want %q", tc.plaid, got, tc.want)
			}
		})
	}
}

func TestProductsForLink(t *testing.T) {
	p := &Provider{cfg: Config{BalanceProduct: "transactions"}}
	type ps = []banklink.Product
	for _, tc := range []struct {
		name                string
		required, optional  ps
		products, supported []string
	}{
		{"balances alone", ps{banklink.Balances}, nil, []string{"transactions"}, nil},
		{"identifiers", ps{banklink.Balances, banklink.Identifiers}, nil, []string{"auth"}, nil},
		{"owners", ps{banklink.Owners}, nil, []string{"identity"}, nil},
		{"transactions", ps{banklink.Transactions}, nil, []string{"transactions"}, nil},
		{"investments", ps{banklink.InvestmentHoldings, banklink.InvestmentTransactions}, nil, []string{"investments"}, nil},
		{"everything", banklink.Products, nil, []string{"auth", "identity", "transactions", "investments"}, nil},
		// Optional products are consented to and fetched where supported,
		// without narrowing the institutions Link offers.
		{"optional owners and identifiers", ps{banklink.Transactions}, ps{banklink.Owners, banklink.Identifiers},
			[]string{"transactions"}, []string{"auth", "identity"}},
		{"optional investments", ps{banklink.Balances, banklink.Identifiers}, ps{banklink.InvestmentHoldings},
			[]string{"auth"}, []string{"investments"}},
		{"optional transactions with balances alone: the Link product already", ps{banklink.Balances}, ps{banklink.Transactions, banklink.Owners},
			[]string{"transactions"}, []string{"identity"}},
		{"optional and required overlap", ps{banklink.InvestmentHoldings}, ps{banklink.InvestmentTransactions, banklink.Balances},
			[]string{"investments"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			products, supported := p.productsForLink(tc.required, tc.optional)
			if !slices.Equal(products, tc.products) || !slices.Equal(supported, tc.supported) {
				t.Errorf("productsForLink = %v, %v; want %v, %v", products, supported, tc.products, tc.supported)
			}
			for _, name := range supported {
				if slices.Contains(products, name) || name == "balance" {
					t.Errorf("%s is not a valid required_if_supported product here", name)
				}
			}
		})
	}
}
