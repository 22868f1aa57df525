package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"banklink"
	"banklink/internal/linking"
)

// ProcessorTokenJSON is a processor token on the wire: Meld's token,
// processor and serviceProvider, and banklink's id and timestamps. The
// token itself is in the create answer only.
type ProcessorTokenJSON struct {
	Token              string  `json:"token,omitempty"`
	Processor          string  `json:"processor"`
	ServiceProvider    string  `json:"serviceProvider"`
	ID                 string  `json:"id"`
	FinancialAccountID string  `json:"financialAccountId"`
	CreatedAt          string  `json:"createdAt"`
	RevokedAt          *string `json:"revokedAt"`
}

func processorTokenJSON(t *banklink.ProcessorToken) ProcessorTokenJSON {
	return ProcessorTokenJSON{Token: t.Token, Processor: string(t.Processor), ServiceProvider: banklink.ProviderWireName(t.ProviderType),
		ID: t.ID, FinancialAccountID: t.FinancialAccountID, CreatedAt: t.CreatedAt.UTC().Format(TimestampFormat), RevokedAt: timePtr(t.RevokedAt)}
}

const createTokenPattern = "POST /bank-linking/accounts/{id}/processors/create-token"

// refuseIdempotencyKey refuses an Idempotency-Key: a stored answer would
// keep the processor token in clear in the idempotency records, where
// banklink keeps tokens sealed only.
func refuseIdempotencyKey(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.Header.Get("Idempotency-Key") != "" {
			return &banklink.Error{Code: banklink.EBADREQUEST, Field: "Idempotency-Key",
				Message: "[Idempotency-Key] is not taken here: the answer holds a secret token, which banklink does not store in clear. Each call makes a new token; revoke the ones you do not use."}
		}
		return h(w, r)
	}
}

// handleCreateProcessorToken is Meld's
// POST /bank-linking/accounts/{id}/processors/create-token.
func (s *Server) handleCreateProcessorToken(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Processor       string `json:"processor"`
		ServiceProvider string `json:"serviceProvider"`
	}
	if _, err := s.decodeBody(w, r, &body); err != nil {
		return err
	}
	t, err := s.Linking.CreateProcessorToken(r.Context(), apiKeyFrom(r.Context()).Scope(), r.PathValue("id"), body.Processor, body.ServiceProvider)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, processorTokenJSON(t))
	return nil
}

// handleRevokeProcessorToken is banklink's
// POST /bank-linking/accounts/{id}/processors/revoke-token.
func (s *Server) handleRevokeProcessorToken(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Token string `json:"token"`
	}
	if _, err := s.decodeBody(w, r, &body); err != nil {
		return err
	}
	t, err := s.Linking.RevokeProcessorToken(r.Context(), apiKeyFrom(r.Context()).Scope(), r.PathValue("id"), body.Token)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, processorTokenJSON(t))
	return nil
}

// MaxImportBodyBytes bounds an import request's body: room for more than
// MaxImportBatch connections, so that a request over the batch limit is
// told about the limit rather than the body size.
const MaxImportBodyBytes = 1 << 20

// bodyLimit is the body limit of r's route.
func (s *Server) bodyLimit(r *http.Request) int64 {
	if r.Pattern == importPattern {
		return max(s.Config.MaxBodyBytes, MaxImportBodyBytes)
	}
	return s.Config.MaxBodyBytes
}

const importPattern = "POST /bank-linking/connections/import"

// ImportJSON is an import request's outcome: Meld's requestId and
// banklink's per-connection results.
type ImportJSON struct {
	RequestID   string                  `json:"requestId"`
	CreatedAt   string                  `json:"createdAt"`
	Connections []banklink.ImportResult `json:"connections"`
}

func importJSON(imp *banklink.ConnectionImport) ImportJSON {
	out := ImportJSON{RequestID: imp.ID, CreatedAt: imp.CreatedAt.UTC().Format(TimestampFormat), Connections: imp.Results}
	if out.Connections == nil {
		out.Connections = []banklink.ImportResult{}
	}
	return out
}

// importEntry is one connection of an import request (Plaid's).
type importEntry struct {
	ServiceProvider    string `json:"serviceProvider"`
	ItemID             string `json:"itemId"`
	AccessToken        string `json:"accessToken"`
	CustomerID         string `json:"customerId"`
	ExternalCustomerID string `json:"externalCustomerId"`
}

// handleImportConnections is Meld's POST /bank-linking/connections/import.
func (s *Server) handleImportConnections(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Connections []json.RawMessage `json:"connections"`
	}
	if _, err := s.decodeBodyLimit(w, r, &body, s.bodyLimit(r)); err != nil {
		return err
	}
	if len(body.Connections) > banklink.MaxImportBatch {
		return banklink.FieldErrorf("connections", "lists %d connections; at most %d are imported per request, so split them into several requests",
			len(body.Connections), banklink.MaxImportBatch)
	}
	items := make([]linking.ImportItem, 0, len(body.Connections))
	for i, raw := range body.Connections {
		var e importEntry
		if len(raw) == 0 || raw[0] != '{' {
			return banklink.FieldErrorf(fmt.Sprintf("connections[%d]", i), "must be an object with serviceProvider, itemId, accessToken and customerId or externalCustomerId")
		}
		if err := decodeEntry(raw, &e); err != nil {
			return banklink.FieldErrorf(fmt.Sprintf("connections[%d]", i)+err.field, "%s", err.msg)
		}
		items = append(items, linking.ImportItem{ServiceProvider: e.ServiceProvider, ItemID: e.ItemID, AccessToken: e.AccessToken,
			CustomerID: e.CustomerID, ExternalCustomerID: e.ExternalCustomerID})
	}
	imp, err := s.Linking.ImportConnections(r.Context(), apiKeyFrom(r.Context()).Scope(), items)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, importJSON(imp))
	return nil
}

type entryError struct{ field, msg string }

// decodeEntry reads one import entry strictly: a member it does not know
// or of the wrong type is named.
func decodeEntry(raw []byte, e *importEntry) *entryError {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(e)
	if err == nil {
		return nil
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
		return &entryError{"." + te.Field, fmt.Sprintf("must be %s, not %s", jsonTypeName(te.Type), te.Value)}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &entryError{"", fmt.Sprintf("has %s, which a Plaid import does not take (serviceProvider, itemId, accessToken, customerId, externalCustomerId)", truncate(name, 60))}
	}
	return &entryError{"", "could not be read as a Plaid import"}
}

// handleGetImport is banklink's GET /bank-linking/imports/{id}.
func (s *Server) handleGetImport(w http.ResponseWriter, r *http.Request) error {
	imp, err := s.Store.FindConnectionImport(r.Context(), apiKeyFrom(r.Context()).Scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, importJSON(imp))
	return nil
}
