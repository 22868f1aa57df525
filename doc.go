// Package banklink is the domain of the banklink bank-account-linking
// service: its types, the interfaces its adapters implement, and its one
// error type. It imports only the standard library; storage, HTTP, the
// widget and the upstream providers live in subpackages named after what
// they adapt, wired together in cmd/banklink.
package banklink
