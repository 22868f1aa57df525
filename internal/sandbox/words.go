package sandbox

import "banklink/internal/l10n"

// The sandbox bank's own prompts, in each language the widget speaks: a
// real bank asks its customers in their language too
// (banklink.LoginRequest.Language). The widget translates the rest
// (credential labels, login errors) itself.
var words = map[string]map[string]string{
	"en": {
		"mfa.code":     "Enter the 4-digit code we sent you.",
		"mfa.question": "What was the name of your first pet?",
		"mfa.choice":   "Where should we send your security code?",
		"choice.text":  "Text to (•••) •••-1234",
		"choice.email": "Email to j•••@example.com",
	},
	"fr-CA": {
		"mfa.code":     "Entrez le code à 4 chiffres que nous vous avons envoyé.",
		"mfa.question": "Quel était le nom de votre premier animal de compagnie\u00a0?",
		"mfa.choice":   "Où devons-nous envoyer votre code de sécurité\u00a0?",
		"choice.text":  "Texto au (•••) •••-1234",
		"choice.email": "Courriel à j•••@example.com",
	},
}

// say returns the sandbox bank's text for key in lang (a BCP 47 tag),
// English when it has none.
func say(lang, key string) string {
	l, _ := l10n.Match(lang)
	if s, ok := words[l][key]; ok {
		return s
	}
	return words[l10n.Default][key]
}
