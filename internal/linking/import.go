package linking

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"banklink"
)

// ImportItem is one connection of an import request: a login the app
// made directly with the provider. For Plaid: the Item's id and access
// token, and the customer by id or external id.
type ImportItem struct {
	ServiceProvider    string
	ItemID             string
	AccessToken        string
	CustomerID         string
	ExternalCustomerID string
}

// importWorkers bounds the provider calls one import request makes at
// once.
const importWorkers = 4

// ImportConnections brings logins an app made directly with a provider
// into banklink (Meld's connections import; Plaid only, Akoya is not
// supported). The request is checked whole first: a malformed entry, a
// provider that does not import or is not enabled, or more than
// MaxImportBatch entries refuse it all (BAD_REQUEST naming the entry),
// and nothing reaches the provider. Then each entry, independently:
//
//   - the provider validates the login with the app's token (Plaid:
//     /item/get), keeping nothing: a bad token never makes a connection;
//   - the institution and the customer (by id, or by external id,
//     created when new) are resolved;
//   - the provider adopts the login (keeps the token sealed, re-points
//     its webhooks to banklink: /item/webhook/update);
//   - the connection is created ACTIVE with the routing decision
//     IMPORTED, CONNECTION_COMPLETED is emitted and its aggregation,
//     requested in the same transaction, starts: the usual
//     ACCOUNTS_UPDATING, ACCOUNTS_UPDATED and TRANSACTIONS_AGGREGATED
//     follow.
//
// A login imported before (in this account and environment, and not
// deleted since) is not imported again: its entry reports
// ALREADY_IMPORTED with the existing connection. Each entry's outcome is
// in the returned import, stored under the request's id.
func (s *Service) ImportConnections(ctx context.Context, scope banklink.Scope, items []ImportItem) (*banklink.ConnectionImport, error) {
	providerType, err := s.checkImport(scope, items)
	if err != nil {
		return nil, err
	}
	importer := s.Providers.LoginImporter(providerType)
	creds, err := s.providerCredentials(ctx, scope, providerType)
	if err != nil {
		return nil, err
	}
	imp := &banklink.ConnectionImport{ID: banklink.RequestIDFrom(ctx), AccountID: scope.AccountID, Environment: scope.Environment,
		Results: make([]banklink.ImportResult, len(items)), CreatedAt: s.now()}
	if imp.ID == "" {
		imp.ID = banklink.NewID()
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(importWorkers, len(items)) {
		wg.Go(func() {
			for i := range next {
				imp.Results[i] = s.importOne(ctx, scope, importer, providerType, creds, i, items[i])
			}
		})
	}
	for i := range items {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := s.Store.SaveConnectionImport(ctx, imp); err != nil {
		return nil, err
	}
	var failed int
	for _, r := range imp.Results {
		if r.Status == banklink.ImportFailed {
			failed++
		}
	}
	s.log().Info("connections imported", slog.String("import_id", imp.ID), slog.Int("connections", len(items)), slog.Int("failed", failed))
	return imp, nil
}

// checkImport refuses a malformed request whole, before any provider
// call, and returns the provider it imports from.
func (s *Service) checkImport(scope banklink.Scope, items []ImportItem) (string, error) {
	if len(items) == 0 {
		return "", banklink.FieldErrorf("connections", "must list at least one connection to import")
	}
	if len(items) > banklink.MaxImportBatch {
		return "", banklink.FieldErrorf("connections", "lists %d connections; at most %d are imported per request, so split them into several requests",
			len(items), banklink.MaxImportBatch)
	}
	providerType := ""
	for i, it := range items {
		field := func(name string) string { return fmt.Sprintf("connections[%d].%s", i, name) }
		switch wire := strings.TrimSpace(it.ServiceProvider); {
		case wire == "":
			return "", banklink.FieldErrorf(field("serviceProvider"), "is required (PLAID)")
		case banklink.ProviderTypeOf(wire) == "akoya":
			return "", &banklink.Error{Code: banklink.EBADREQUEST, Reason: "IMPORT_NOT_SUPPORTED",
				Message: fmt.Sprintf("[%s] AKOYA: banklink imports Plaid connections only; Akoya imports are not supported.", field("serviceProvider"))}
		case banklink.ProviderTypeOf(wire) != "plaid":
			return "", &banklink.Error{Code: banklink.EBADREQUEST, Reason: "IMPORT_NOT_SUPPORTED",
				Message: fmt.Sprintf("[%s] %s: only PLAID connections can be imported.", field("serviceProvider"), truncate(wire, 40))}
		}
		t := banklink.ProviderTypeOf(it.ServiceProvider)
		if providerType != "" && t != providerType {
			return "", banklink.FieldErrorf(field("serviceProvider"), "differs from the first connection's; import one provider's connections per request")
		}
		providerType = t
		if strings.TrimSpace(it.ItemID) == "" {
			return "", banklink.FieldErrorf(field("itemId"), "is required: the Plaid Item's item_id")
		}
		if strings.TrimSpace(it.AccessToken) == "" {
			return "", banklink.FieldErrorf(field("accessToken"), "is required: the Plaid Item's access_token")
		}
		if (it.CustomerID == "") == (it.ExternalCustomerID == "") {
			return "", banklink.FieldErrorf(field("customerId"), "or externalCustomerId is required, not both")
		}
	}
	if !slices.Contains(s.Config.Providers[scope.Environment], providerType) || s.Providers == nil || s.Providers.LoginImporter(providerType) == nil {
		return "", &banklink.Error{Code: banklink.EBADREQUEST, Reason: "PROVIDER_NOT_ENABLED",
			Message: fmt.Sprintf("%s is not enabled in the %s environment of this deployment: configure it before importing its connections.",
				banklink.ProviderWireName(providerType), scope.Environment)}
	}
	return providerType, nil
}

// importOne imports one entry; its failure is its result, not the
// request's.
func (s *Service) importOne(ctx context.Context, scope banklink.Scope, importer banklink.LoginImporter, providerType string, creds map[string]string, i int, it ImportItem) banklink.ImportResult {
	res := banklink.ImportResult{Index: i, ServiceProvider: banklink.ProviderWireName(providerType), LoginID: it.ItemID,
		CustomerID: it.CustomerID, ExternalCustomerID: it.ExternalCustomerID}
	fail := func(err error) banklink.ImportResult {
		res.Status, res.ErrorCode, res.ErrorMessage = banklink.ImportFailed, banklink.ErrorCode(err), banklink.ErrorMessage(err)
		if pe, ok := err.(*banklink.ProviderError); ok {
			res.ErrorCode, res.ErrorMessage = banklink.EPROVIDER, pe.Reason+": "+pe.DisplayMessage
		}
		s.log().Warn("import connection", slog.String("item_id", it.ItemID), slog.Int("index", i), slog.Any("err", err))
		return res
	}
	req := banklink.ImportLoginRequest{LoginID: it.ItemID, AccessToken: it.AccessToken, ProviderCredentials: creds}
	login, err := importer.CheckLogin(ctx, req)
	if err != nil {
		return fail(err)
	}
	var in *banklink.Institution
	if dir := s.Directory.Current(); dir != nil {
		in, _ = dir.ByProviderID(providerType, login.ProviderInstitutionID)
	}
	if in == nil {
		return fail(banklink.Errorf(banklink.ENOTFOUND, "Institution %s is not in banklink's directory (yet): import it once the directory has synced.", login.ProviderInstitutionID))
	}
	externalID := it.ExternalCustomerID
	if it.CustomerID != "" {
		c, err := s.Store.FindCustomerByID(ctx, scope, it.CustomerID)
		if err != nil {
			return fail(err)
		}
		externalID = c.ExternalID
		res.ExternalCustomerID = externalID
	}
	if err := importer.AdoptLogin(ctx, req); err != nil {
		return fail(err)
	}
	now := s.now()
	conn := &banklink.Connection{ID: banklink.NewID(), AccountID: scope.AccountID, Environment: scope.Environment, InstitutionID: in.ID,
		Products: login.Products, Regions: in.Regions, RequestedProvider: providerType}
	cust := &banklink.Customer{ID: banklink.NewID(), AccountID: scope.AccountID, Environment: scope.Environment, ExternalID: externalID}
	stored, existed, err := s.Store.ImportConnection(ctx, cust, conn, banklink.Completion{InstitutionID: in.ID, ProviderType: providerType,
		LoginID: login.LoginID, At: now, Routing: &banklink.RoutingDecision{Provider: providerType, Reason: banklink.RouteImported, At: now}})
	if err != nil {
		return fail(err)
	}
	res.ConnectionID, res.CustomerID, res.ExternalCustomerID = stored.ID, stored.CustomerID, stored.ExternalCustomerID
	res.Status = banklink.ImportCreated
	if existed {
		res.Status = banklink.ImportExisting
		return res
	}
	if s.Runner != nil {
		if err := s.Runner.Start(ctx, scope, stored.ID); err != nil {
			s.log().Warn("start aggregation of an imported connection", slog.String("connection_id", stored.ID), slog.Any("err", err))
		}
	}
	return res
}
