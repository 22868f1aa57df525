package banklink

import "testing"

func TestIsRoutingNumber(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     bool
	}{
		{"JPMorgan Chase, New York", "021000021", true},
		{"Wells Fargo, California", "121000248", true},
		{"credit union (thrift prefix)", "256074974", true},
		{"all zeros passes the sum", "000000000", true},
		{"last digit wrong", "021000022", false},
		{"one digit mistyped", "021100021", false},
		{"neighbours swapped", "012000021", false},
		{"eight digits", "02100002", false},
		{"ten digits", "0210000210", false},
		{"letter", "02100002a", false},
		{"spaces are the caller's to strip", "021 000 021", false},
		{"empty", "", false},
		{"non-ASCII digit", "02100002١", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsRoutingNumber(tc.in); got != tc.want {
				t.Errorf("IsRoutingNumber(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestRoutingCheckDigit(t *testing.T) {
	for _, prefix := range []string{"02100002", "12100024", "25607497", "00000000", "99999999", "01140153"} {
		if n := prefix + string(RoutingCheckDigit(prefix)); !IsRoutingNumber(n) {
			t.Errorf("%s + check digit = %s, not a routing number", prefix, n)
		}
	}
}
