package sandbox

import (
	"maps"
	"slices"
	"testing"

	"banklink"
)

// TestPromptsInTheCustomersLanguage: the sandbox bank asks its MFA
// questions in the language the widget passes, English otherwise.
func TestPromptsInTheCustomersLanguage(t *testing.T) {
	p := &Provider{}
	in := &banklink.Institution{ID: TestBankID, Name: "Sandbox Bank"}
	for _, tc := range []struct {
		language, user, want string
	}{
		{"", UserMFACode, "Enter the 4-digit code we sent you."},
		{"fr-CA", UserMFACode, "Entrez le code à 4 chiffres que nous vous avons envoyé."},
		{"fr-FR", UserMFAQuestion, "Quel était le nom de votre premier animal de compagnie\u00a0?"},
		{"fr", UserMFAChoice, "Où devons-nous envoyer votre code de sécurité\u00a0?"},
		{"es", UserMFAChoice, "Where should we send your security code?"},
	} {
		t.Run(tc.language+" "+tc.user, func(t *testing.T) {
			step, err := p.SubmitCredentials(t.Context(), banklink.LoginRequest{Institution: in, Language: tc.language,
				Credentials: map[string]string{"username": tc.user, "password": PasswordGood}})
			if err != nil || step.MFA == nil || step.MFA.Prompt != tc.want {
				t.Fatalf("got %+v, %v; want prompt %q", step, err, tc.want)
			}
		})
	}
}

func TestWordsInEveryLanguage(t *testing.T) {
	en := slices.Sorted(maps.Keys(words["en"]))
	for lang, w := range words {
		if got := slices.Sorted(maps.Keys(w)); !slices.Equal(got, en) {
			t.Errorf("%s has keys %v, English %v", lang, got, en)
		}
	}
}
