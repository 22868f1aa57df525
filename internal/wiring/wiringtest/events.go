package wiringtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"banklink/internal/webhooks"
	"banklink/internal/webhookurl"
	"banklink/webhook"
)

// HookSink is a real receiver that verifies every request's signature.
type HookSink struct {
	*httptest.Server
	Secret string
	url    string
	Mu     sync.Mutex
	Events []webhook.Envelope
	Bad    int
}

func (st *Stack) HookSink(t *testing.T) *HookSink {
	t.Helper()
	s := &HookSink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := webhook.VerifyRequest(r, []string{s.Secret}, s.url, webhook.Options{})
		s.Mu.Lock()
		defer s.Mu.Unlock()
		if err != nil {
			s.Bad++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var env webhook.Envelope
		json.Unmarshal(body, &env)
		s.Events = append(s.Events, env)
		io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	s.url = s.URL + "/banklink-hooks"
	var p struct{ Secret string }
	if status, _ := st.Send("POST", "/webhooks/profiles", fmt.Sprintf(`{"url":%q}`, s.url), &p); status != 201 {
		t.Fatalf("create profile: %d", status)
	}
	s.Secret = p.Secret
	return s
}

// flush delivers everything due and returns the event types received for
// connection id, in arrival order.
func (s *HookSink) Flush(t *testing.T, st *Stack, id string) ([]webhook.EventType, []webhook.Payload) {
	t.Helper()
	st.Runner.Wait()
	if _, err := webhooks.New(st.Store, webhooks.Config{Private: webhookurl.PrivateSandbox}, nil).DeliverDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if s.Bad > 0 {
		t.Fatalf("%d deliveries failed verification", s.Bad)
	}
	var types []webhook.EventType
	var payloads []webhook.Payload
	for _, e := range s.Events {
		var p webhook.Payload
		json.Unmarshal(e.Payload, &p)
		if p.ConnectionID == id {
			types, payloads = append(types, e.EventType), append(payloads, p)
		}
	}
	return types, payloads
}
