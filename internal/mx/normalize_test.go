package mx

import (
	"encoding/json"
	"testing"
	"time"

	"banklink"

	"github.com/google/go-cmp/cmp"
)

func s(v string) *string           { return &v }
func f(v float64) *float64         { return &v }
func b(v bool) *bool               { return &v }
func raw(v string) json.RawMessage { return json.RawMessage(v) }

func TestConvertTransaction(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   transaction
		want banklink.Transaction
	}{
		{
			name: "debit is money out: positive",
			in: transaction{GUID: "TRN-1", Amount: f(42.5), Type: s("DEBIT"), Status: s("POSTED"), Date: s("2026-02-01"),
				PostedAt: s("2026-02-02T12:00:00Z"), Description: s("Whole Foods"), TopLevelCategory: s("Food & Dining"), IsRecurring: b(false)},
			want: banklink.Transaction{ProviderTransactionID: "TRN-1", Amount: 42.5, Currency: "USD", Description: "Whole Foods",
				TransactionDate: "2026-02-01", PostedDate: "2026-02-02", Status: banklink.TxPosted, Category: "FOOD_AND_DRINK", Recurring: banklink.RecurringNo},
		},
		{
			name: "credit is money in: negative",
			in: transaction{GUID: "TRN-2", Amount: f(2450), Type: s("CREDIT"), Status: s("POSTED"), Date: s("2026-02-15"),
				Description: s("Payroll"), TopLevelCategory: s("Income"), IsRecurring: b(true), CurrencyCode: s("cad")},
			want: banklink.Transaction{ProviderTransactionID: "TRN-2", Amount: -2450, Currency: "CAD", Description: "Payroll",
				TransactionDate: "2026-02-15", PostedDate: "2026-02-15", Status: banklink.TxPosted, Category: "INCOME", Recurring: banklink.RecurringYes},
		},
		{
			name: "a negative amount keeps the type's direction",
			in:   transaction{GUID: "TRN-3", Amount: f(-10), Type: s("DEBIT"), Date: s("2026-02-03")},
			want: banklink.Transaction{ProviderTransactionID: "TRN-3", Amount: 10, Currency: "USD", TransactionDate: "2026-02-03", PostedDate: "2026-02-03",
				Status: banklink.TxPosted, Category: "UNCATEGORIZED", Recurring: banklink.RecurringUnknown},
		},
		{
			name: "pending has no posted date; transacted_at when date is missing",
			in: transaction{GUID: "TRN-4", Amount: f(3.5), Type: s("DEBIT"), Status: s("PENDING"), TransactedAt: s("2026-02-04T18:30:00Z"),
				OriginalDescription: s("STARBUCKS #123"), TopLevelCategory: s("Pets")},
			want: banklink.Transaction{ProviderTransactionID: "TRN-4", Amount: 3.5, Currency: "USD", Description: "STARBUCKS #123",
				TransactionDate: "2026-02-04", Status: banklink.TxPending, Category: "OTHER", Recurring: banklink.RecurringUnknown},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, convertTransaction(tc.in, "USD")); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAccountType(t *testing.T) {
	for _, tc := range []struct {
		typ, sub          string
		wantType, wantSub string
	}{
		{"CHECKING", "NONE", "DEPOSITORY", "CHECKING"},
		{"SAVINGS", "", "DEPOSITORY", "SAVINGS"},
		{"SAVINGS", "MONEY_MARKET", "DEPOSITORY", "MONEY_MARKET"},
		{"SAVINGS", "CERTIFICATE_OF_DEPOSIT", "DEPOSITORY", "CD"},
		{"PREPAID", "", "DEPOSITORY", "PREPAID"},
		{"CREDIT_CARD", "NONE", "CREDIT", "CREDIT_CARD"},
		{"LINE_OF_CREDIT", "HOME_EQUITY", "CREDIT", "HOME_EQUITY"},
		{"CHECKING_LINE_OF_CREDIT", "", "CREDIT", "LINE_OF_CREDIT"},
		{"LOAN", "AUTO", "LOAN", "AUTO"},
		{"MORTGAGE", "NONE", "LOAN", "MORTGAGE"},
		{"INVESTMENT", "ROTH_IRA", "INVESTMENT", "ROTH_IRA"},
		{"INVESTMENT", "", "INVESTMENT", "INVESTMENT"},
		{"PROPERTY", "VEHICLE", "OTHER", "VEHICLE"},
		{"INSURANCE", "", "OTHER", "INSURANCE"},
		{"ANY", "", "OTHER", ""},
	} {
		t.Run(tc.typ+"/"+tc.sub, func(t *testing.T) {
			typ, sub := accountType(account{Type: s(tc.typ), Subtype: s(tc.sub)})
			if typ != tc.wantType || sub != tc.wantSub {
				t.Errorf("accountType = %s/%s, want %s/%s", typ, sub, tc.wantType, tc.wantSub)
			}
		})
	}
}

func TestBalances(t *testing.T) {
	asOf := time.Date(2026, 2, 1, 10, 0, 0, 500, time.UTC)
	for _, tc := range []struct {
		name  string
		a     account
		typ   string
		want  *banklink.AccountBalances
		avail *float64
	}{
		{"deposit: available_balance", account{Balance: f(100), AvailableBalance: f(90), AvailableCredit: f(1), CurrencyCode: s("USD")}, "DEPOSITORY",
			&banklink.AccountBalances{Currency: "USD", CurrentAmount: 100}, f(90)},
		{"card: owed and available_credit", account{Balance: f(250), AvailableCredit: f(4750), AvailableBalance: f(1)}, "CREDIT",
			&banklink.AccountBalances{Currency: "CAD", CurrentAmount: 250}, f(4750)},
		{"loan: no available amount", account{Balance: f(9000)}, "LOAN", &banklink.AccountBalances{Currency: "CAD", CurrentAmount: 9000}, nil},
		{"no balance at all", account{}, "LOAN", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := balances(tc.a, tc.typ, "CAD", asOf)
			if tc.want == nil {
				if got != nil {
					t.Fatalf("got %+v", got)
				}
				return
			}
			if got == nil || got.Currency != tc.want.Currency || got.CurrentAmount != tc.want.CurrentAmount || !got.UpdatedAt.Equal(asOf.Truncate(time.Second)) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if (got.AvailableAmount == nil) != (tc.avail == nil) || (tc.avail != nil && *got.AvailableAmount != *tc.avail) {
				t.Fatalf("available = %v, want %v", got.AvailableAmount, tc.avail)
			}
		})
	}
}

func TestIdentifiers(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   accountNumber
		want string
	}{
		{"ACH", accountNumber{AccountNumber: s("1234567890"), RoutingNumber: s("011000015")}, "ACH 1234567890/011000015"},
		{"EFT", accountNumber{AccountNumber: s("9876543"), InstitutionNumber: s("003"), TransitNumber: s("12345")}, "EFT 9876543/003/12345"},
		{"no number", accountNumber{RoutingNumber: s("011000015")}, "none"},
		{"no routing", accountNumber{AccountNumber: s("1")}, "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := "none"
			if id := identifiers(tc.in); id != nil && id.ACH != nil {
				got = "ACH " + id.ACH.AccountNumber + "/" + id.ACH.RoutingNumber
			} else if id != nil && id.EFT != nil {
				got = "EFT " + id.EFT.AccountNumber + "/" + id.EFT.InstitutionNumber + "/" + id.EFT.BranchNumber
			}
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestOwner(t *testing.T) {
	o := owner(accountOwner{FirstName: s("Donnie"), LastName: s("Darko"), Address: s("123 This Way"), City: s("Middlesex"), State: s("VA"),
		PostalCode: s("00000-0000"), Country: s("US"), Email: s("donnie@darko.co"), Phone: s("555-555-5555")})
	if len(o.Names) != 1 || o.Names[0] != "Donnie Darko" || len(o.Addresses) != 1 || o.Addresses[0].Region != "VA" || !o.Addresses[0].Primary ||
		len(o.Emails) != 1 || len(o.PhoneNumbers) != 1 {
		t.Errorf("owner = %+v", o)
	}
	if empty := owner(accountOwner{OwnerName: s("Only Name")}); empty.Addresses != nil || empty.Emails != nil || empty.Names[0] != "Only Name" {
		t.Errorf("owner = %+v", empty)
	}
}

func TestCategory(t *testing.T) {
	for in, want := range map[string]string{
		"Food & Dining": "FOOD_AND_DRINK", "Auto & Transport": "TRANSPORTATION", "Bills & Utilities": "BILLS", "Fees & Charges": "FEE",
		"Income": "INCOME", "Transfer": "TRANSFER", "Travel": "TRAVEL", "Shopping": "SHOPPING", "Taxes": "TAXES", "Health & Fitness": "HEALTH",
		"Home": "HOME", "Kids": "FAMILY", "Investments": "INVESTMENTS", "Entertainment": "ENTERTAINMENT", "Education": "EDUCATION",
		"Uncategorized": "UNCATEGORIZED", "": "UNCATEGORIZED", "Gifts & Donations": "OTHER",
	} {
		t.Run(in, func(t *testing.T) {
			if got := category(in); got != want {
				t.Errorf("category(%q) = %s, want %s", in, got, want)
			}
		})
	}
}

func TestConvertHolding(t *testing.T) {
	asOf := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		in       holding
		qty      float64
		typ, cur string
	}{
		{"quantity as a string", holding{GUID: "HOL-1", Quantity: raw(`"5000.0"`), HoldingType: s("MUTUAL_FUND"), CurrencyCode: s("USD")}, 5000, "MUTUALFUND", "USD"},
		{"quantity as a number", holding{GUID: "HOL-2", Quantity: raw(`12.5`), HoldingType: s("EQUITY")}, 12.5, "STOCK", "CAD"},
		{"unknown type", holding{GUID: "HOL-3", HoldingType: s("UNIT_INVESTMENT_TRUST")}, 0, "OTHER", "CAD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := convertHolding(tc.in, "CAD", asOf)
			if h.ProviderHoldingID != tc.in.GUID || h.Quantity != tc.qty || h.Type != tc.typ || h.Currency != tc.cur || !h.UpdatedAt.Equal(asOf) {
				t.Errorf("got %+v", h)
			}
		})
	}
}

func TestMapInstitution(t *testing.T) {
	in := mapInstitution(institution{Code: "mxbank", Name: s("MX Bank"), URL: s("https://www.mxbank.com/login"), ISOCountryCode: s("us"),
		SupportsAccountIdentification: b(true), SupportsTransactionHistory: b(true), SupportsOAuth: b(false)})
	pi := in.Providers[ProviderType]
	got := banklink.NewProductSet(pi.Products...)
	want := banklink.NewProductSet(banklink.Balances, banklink.Transactions, banklink.InvestmentHoldings, banklink.Owners, banklink.HistoricalTransactions)
	if got != want || pi.ProviderInstitutionID != "mxbank" || !pi.Redirect || pi.Health != banklink.HealthHealthy {
		t.Errorf("provider = %+v", pi)
	}
	if in.Name != "MX Bank" || in.Domain != "mxbank.com" || len(in.Regions) != 1 || in.Regions[0] != "US" || in.Type != banklink.InstitutionBank || in.ID != "" {
		t.Errorf("institution = %+v", in)
	}
	if cu := mapInstitution(institution{Code: "x", Name: s("Example Federal Credit Union"), SupportsAccountVerification: b(true)}); cu.Type != banklink.InstitutionCreditUnion ||
		!banklink.NewProductSet(cu.Providers[ProviderType].Products...).Has(banklink.Identifiers) {
		t.Errorf("credit union = %+v", cu)
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{"XXXXXX1234": "1234", "5366": "5366", "12": "12", "": "", "****-98-7654": "7654"} {
		if got := mask(account{AccountNumber: s(in)}); got != want {
			t.Errorf("mask(%q) = %q, want %q", in, got, want)
		}
	}
}
