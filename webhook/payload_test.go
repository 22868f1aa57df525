package webhook

import (
	"encoding/json"
	"testing"
)

// TestPayloadNulls: the members an event type carries are sent as null
// or [] when they have no value, as Meld sends them, never left out; the
// members of other event types are left out.
func TestPayloadNulls(t *testing.T) {
	zero := 0
	no := false
	for _, tc := range []struct {
		name string
		p    Payload
		want string
	}{
		{name: "test event", p: Payload{RequestID: "r"}, want: `{"requestId":"r"}`},
		{name: "status change without reasons", p: Payload{RequestID: "r", CustomerID: "cu", ConnectionID: "c", OldStatus: "IN_PROGRESS", NewStatus: "ACTIVE"},
			want: `{"requestId":"r","connectionId":"c","customerId":"cu","externalCustomerId":null,"institutionId":null,"institutionName":null,` +
				`"oldStatus":"IN_PROGRESS","oldStatusReason":null,"newStatus":"ACTIVE","newStatusReason":null,"activeDuplicateConnectionId":null}`},
		{name: "inactive duplicate", p: Payload{RequestID: "r", CustomerID: "cu", ExternalCustomerID: "x", ConnectionID: "c", InstitutionID: "i", InstitutionName: "Bank",
			OldStatus: "ACTIVE", NewStatus: "PARTIALLY_ACTIVE", NewStatusReason: "INACTIVE_DUPLICATE", ActiveDuplicateConnectionID: "d"},
			want: `{"requestId":"r","connectionId":"c","customerId":"cu","externalCustomerId":"x","institutionId":"i","institutionName":"Bank",` +
				`"oldStatus":"ACTIVE","oldStatusReason":null,"newStatus":"PARTIALLY_ACTIVE","newStatusReason":"INACTIVE_DUPLICATE","activeDuplicateConnectionId":"d"}`},
		{name: "transactions without removals or writes", p: Payload{RequestID: "r", CustomerID: "cu", ExternalCustomerID: "x", ConnectionID: "c", InstitutionID: "i", InstitutionName: "Bank",
			FinancialAccounts: []FinancialAccount{{ID: "a", NumTransactionsAdded: &zero, NumTransactionsUpdated: &zero, NumInvestmentTransactionsAdded: &zero, NumInvestmentTransactionsUpdated: &zero}}},
			want: `{"requestId":"r","connectionId":"c","financialAccounts":[{"id":"a","numTransactionsAdded":0,"numTransactionsUpdated":0,"numInvestmentTransactionsAdded":0,` +
				`"numInvestmentTransactionsUpdated":0,"transactionIdsRemoved":[],"investmentTransactionIdsRemoved":[],"oldestTransactionUpdatedSearchKey":null}],` +
				`"customerId":"cu","externalCustomerId":"x","institutionId":"i","institutionName":"Bank"}`},
		{name: "accounts updated without products", p: Payload{RequestID: "r", ConnectionID: "c", CustomerID: "cu", InstitutionID: "i", InstitutionName: "Bank",
			FinancialAccounts: []FinancialAccount{{ID: "a", NewAccount: &no}}},
			want: `{"requestId":"r","connectionId":"c","financialAccounts":[{"id":"a","newAccount":false,"products":[]}],` +
				`"customerId":"cu","externalCustomerId":null,"institutionId":"i","institutionName":"Bank"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("got  %s\nwant %s", b, tc.want)
			}
			var back Payload
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if again, _ := json.Marshal(back); string(again) != string(b) {
				t.Errorf("does not survive a round trip: %s", again)
			}
		})
	}
}
