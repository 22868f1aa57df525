package linking

import (
	"errors"
	"testing"

	"banklink"
)

// TestProviderRefusal: a refusal the customer must fix is a CONFLICT
// (repair), the provider's own trouble a PROVIDER_ERROR, anything else
// passes through.
func TestProviderRefusal(t *testing.T) {
	conn := &banklink.Connection{ProviderType: "plaid"}
	plain := errors.New("boom")
	for _, tc := range []struct {
		name      string
		err       error
		code      string
		retryable bool
	}{
		{"login to redo", &banklink.ProviderError{Reason: banklink.LoginInvalidCredentials}, banklink.ECONFLICT, false},
		{"locked", &banklink.ProviderError{Reason: banklink.LoginLocked}, banklink.ECONFLICT, false},
		{"consent withdrawn", &banklink.ProviderError{Reason: banklink.LoginOAuthDenied}, banklink.ECONFLICT, false},
		{"institution down", &banklink.ProviderError{Reason: banklink.LoginInstitutionDown, Retryable: true}, banklink.EPROVIDER, true},
		{"provider down", &banklink.ProviderError{Reason: banklink.LoginProviderDown, Retryable: true}, banklink.EPROVIDER, true},
		{"a banklink error", banklink.Errorf(banklink.ERATELIMITED, "slow down"), banklink.ERATELIMITED, false},
		{"anything else", plain, banklink.EINTERNAL, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := providerRefusal(tc.err, conn)
			if banklink.ErrorCode(got) != tc.code {
				t.Fatalf("code %s (%v), want %s", banklink.ErrorCode(got), got, tc.code)
			}
			var be *banklink.Error
			if errors.As(got, &be) && be.Retryable != tc.retryable {
				t.Errorf("retryable %v", be.Retryable)
			}
			if !errors.Is(got, tc.err) && got != tc.err {
				t.Errorf("%v does not wrap %v", got, tc.err)
			}
		})
	}
}
