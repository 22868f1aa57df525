package httpapi

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"banklink"
	"banklink/internal/linking"
)

// FuzzConnectStartBody feeds arbitrary bodies through the connect/start
// decoder and validation: every outcome is a valid request or a
// BAD_REQUEST-class error with a message, never a panic or an internal
// error.
func FuzzConnectStartBody(f *testing.F) {
	for _, seed := range []string{
		`{"externalCustomerId":"testCustomer","products":["BALANCES","OWNERS","IDENTIFIERS","TRANSACTIONS","INVESTMENT_HOLDINGS","INVESTMENT_TRANSACTIONS"],"regions":["US","CA"],"institutionSearchString":"Fidelity"}`,
		`{"externalCustomerId":"c","optionalProducts":["OWNERS"]}`,
		`{"externalCustomerId":"c","products":["BALANCES"],"optionalProducts":["BALANCES"]}`,
		`{"externalCustomerId":"c","regions":["US-NY","ca-qc","FR-75"],"accountPreferenceOverride":{"allowRedirect":false},"redirectUrl":"https://a.example/x"}`,
		`{"externalCustomerId":null}`, `[]`, `null`, `{`, `{"products":"x"}`, `{"externalCustomerId":"\u0000"}`, "",
	} {
		f.Add(seed)
	}
	s := &Server{Config: Config{MaxBodyBytes: DefaultMaxBodyBytes}}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/bank-linking/connect/start", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var req linking.StartRequest
		_, err := s.decodeBody(httptest.NewRecorder(), r, &req)
		if err == nil {
			err = req.Validate()
		}
		if err == nil {
			return
		}
		code := banklink.ErrorCode(err)
		if code != banklink.EBADREQUEST || banklink.ErrorMessage(err) == "" {
			t.Fatalf("body %q: error %v (code %s)", body, err, code)
		}
		if json.Valid([]byte(body)) && strings.HasPrefix(strings.TrimSpace(body), "{") && strings.Contains(banklink.ErrorMessage(err), "not valid JSON") {
			t.Fatalf("valid JSON object %q reported as invalid JSON", body)
		}
	})
}

// FuzzInstitutionQuery feeds arbitrary query strings to the GET
// /institutions parser.
func FuzzInstitutionQuery(f *testing.F) {
	for _, seed := range []string{
		"name=first&limit=10", "regions=US,CA-QC&products=TRANSACTIONS,HISTORICAL_TRANSACTIONS", "limit=0", "limit=99999999999999999999",
		"before=a&after=b", "type=BANK,CREDIT_UNION&serviceProviders=SANDBOX", "allowRedirect=maybe", "name=%00%ff", "regions=,,,",
	} {
		f.Add(seed)
	}
	enabled := map[string]bool{"sandbox": true}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseInstitutionQuery(v, enabled)
		if err != nil {
			if banklink.ErrorCode(err) != banklink.EBADREQUEST {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		if q.Limit < 1 || q.Limit > MaxInstitutionLimit || (q.After != "" && q.Before != "") {
			t.Fatalf("%q accepted as %+v", raw, q)
		}
		for _, p := range q.ServiceProviders {
			if !enabled[p] {
				t.Fatalf("%q: provider %q accepted", raw, p)
			}
		}
	})
}
