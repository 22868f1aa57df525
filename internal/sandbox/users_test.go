package sandbox

import (
	"errors"
	"testing"

	"banklink"
)

// TestUsersBelongToTheirClient: a sandbox-b user made under one client's
// credentials is unknown under another's, which is exactly what breaks a
// customer re-linked after a provider was re-enabled with new credentials
// if the old provider user is reused.
func TestUsersBelongToTheirClient(t *testing.T) {
	b := NewB()
	bank := TestInstitutions()[0]
	credsA := map[string]string{"clientId": "client-a", "secret": "a"}
	credsB := map[string]string{"clientId": "client-b", "secret": "b"}
	userA, err := b.CreateUser(t.Context(), credsA, "cust-1")
	if err != nil {
		t.Fatal(err)
	}
	userB, _ := b.CreateUser(t.Context(), credsB, "cust-1")
	again, _ := b.CreateUser(t.Context(), credsA, "cust-1")
	if userA == userB || userA != again {
		t.Fatalf("users: %q %q %q", userA, userB, again)
	}
	if _, err := b.CreateUser(t.Context(), map[string]string{"clientId": "x"}, "cust-1"); err == nil {
		t.Error("credentials without a secret were accepted")
	}
	for _, tt := range []struct {
		name  string
		creds map[string]string
		user  string
		ok    bool
	}{
		{"own user", credsA, userA, true},
		{"new credentials, new user", credsB, userB, true},
		{"new credentials, old user (the pitfall)", credsB, userA, false},
		{"no user", credsA, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.SubmitCredentials(t.Context(), banklink.LoginRequest{Institution: bank, ProviderCredentials: tt.creds, ProviderUserID: tt.user,
				Credentials: map[string]string{"username": UserGood, "password": PasswordGood}})
			pe, isPE := errors.AsType[*banklink.ProviderError](err)
			if tt.ok != (err == nil) || (!tt.ok && (!isPE || pe.Reason != LoginUnknownUser)) {
				t.Errorf("login: %v", err)
			}
		})
	}
}
