package widget_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"banklink/internal/httpapi"
	"banklink/internal/sandbox"
)

// TestReenabledProviderKeepsOldCustomers is the pitfall Meld's docs warn
// about ("if you disable a service provider and later re-enable it, use
// new customerId / externalCustomerId values"), fixed by design: banklink
// keeps provider-side users per configuration generation, so the same
// customer links again after the provider was disabled and re-enabled
// with other credentials, and with the same ones.
func TestReenabledProviderKeepsOldCustomers(t *testing.T) {
	st := newStackWith(t, sandbox.ProviderType, sandbox.ProviderTypeB)
	put := func(body string, want int) {
		t.Helper()
		var out map[string]any
		if status, _ := st.Send("PUT", "/service-providers/SANDBOX_B", body, &out); status != want {
			t.Fatalf("PUT %s: %d %v", body, status, out)
		}
	}
	put(`{"credentials":{"clientId":"client-a","secret":"secret-a"},"displayOrder":1}`, 201)
	var out map[string]any
	if status, _ := st.Send("PUT", "/service-providers/SANDBOX", `{"displayOrder":2}`, &out); status != 201 {
		t.Fatalf("configure sandbox: %v", out)
	}

	link := func() httpapi.ConnectionJSON {
		t.Helper()
		return linkAt(st, `{"externalCustomerId":"returning-customer","products":["BALANCES"],"serviceProvider":"SANDBOX_B"}`, sandbox.TestBankID, "user_good")
	}
	first := link()
	if first.ServiceProviderDetails["serviceProvider"] != "SANDBOX_B" {
		t.Fatalf("first link = %+v", first.ServiceProviderDetails)
	}
	// Disable, re-enable with other credentials, link the same customer.
	put(`{"enabled":false}`, 200)
	put(`{"enabled":true,"credentials":{"clientId":"client-b","secret":"secret-b"}}`, 200)
	second := link()
	if second.Status != "ACTIVE" || second.CustomerID != first.CustomerID {
		t.Fatalf("after re-enabling with new credentials: %s (customer %s, was %s)", second.Status, second.CustomerID, first.CustomerID)
	}
	// And once more with the same credentials.
	put(`{"enabled":false}`, 200)
	put(`{"enabled":true}`, 200)
	if third := link(); third.Status != "ACTIVE" {
		t.Fatalf("after re-enabling with the same credentials: %s", third.Status)
	}
	var list struct {
		ServiceProviders []struct {
			ServiceProvider string
			Generation      int
			CredentialKeys  []string
		}
	}
	st.Get("/service-providers", &list)
	if len(list.ServiceProviders) != 2 || list.ServiceProviders[0].ServiceProvider != "SANDBOX_B" || list.ServiceProviders[0].Generation < 3 {
		t.Errorf("service providers = %+v", list)
	}
}

// TestProviderCredentialsNeverLeak: credentials are stored encrypted and no
// API response or log line carries them.
func TestProviderCredentialsNeverLeak(t *testing.T) {
	st := newStackWith(t, sandbox.ProviderType, sandbox.ProviderTypeB)
	const secret = "very-secret-credential-value"
	var bodies []string
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/service-providers/SANDBOX_B", `{"credentials":{"clientId":"client-x","secret":"` + secret + `"}}`},
		{"PUT", "/service-providers/SANDBOX_B", `{"displayOrder":5}`},
		{"GET", "/service-providers", ""},
	} {
		req, _ := http.NewRequest(c.method, st.Srv.URL+c.path, strings.NewReader(c.body))
		req.Header.Set("Authorization", "BASIC "+st.APIKey)
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := st.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		bodies = append(bodies, b.String())
	}
	linkAt(st, `{"externalCustomerId":"leak","products":["BALANCES"],"serviceProvider":"SANDBOX_B"}`, sandbox.TestBankID, "user_good")
	for i, b := range bodies {
		if strings.Contains(b, secret) {
			t.Errorf("response %d carries the credential: %s", i, b)
		}
	}
	if !strings.Contains(bodies[2], `"credentialKeys":["clientId","secret"]`) {
		t.Errorf("list = %s", bodies[2])
	}
	if strings.Contains(st.Logs.String(), secret) {
		t.Error("a log line carries the credential")
	}
	// On disk: the credentials column is ciphertext.
	raw := st.RawCredentials(t)
	if len(raw) == 0 || bytes.Contains(raw, []byte(secret)) || bytes.Contains(raw, []byte("client-x")) {
		t.Errorf("stored credential bytes contain the plaintext (%d bytes)", len(raw))
	}
}
