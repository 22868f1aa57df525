package widget_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/sandbox"
)

func funnelOf(t *testing.T, st *stack) map[string]int {
	t.Helper()
	now := time.Now().UTC()
	steps, err := st.Store.FunnelSteps(context.Background(), st.Scope, now.Add(-48*time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return banklink.ComputeFunnel(steps, banklink.FunnelFilter{}).Totals
}

// TestFunnelSteps: the widget records each step of a linking once.
func TestFunnelSteps(t *testing.T) {
	st := newStack(t)
	bank := st.Institution("Sandbox Bank")
	tok := st.Start(`{"externalCustomerId":"f1","products":["BALANCES"]}`).ConnectToken
	for range 2 { // a reload counts once
		if status, s := st.Call(tok, "GET", "session", ""); status != 200 {
			t.Fatalf("session: %d %v", status, s)
		}
	}
	if got := funnelOf(t, st); got[banklink.FunnelOpened] != 1 || got[banklink.FunnelChosen] != 0 {
		t.Fatalf("after opening: %v", got)
	}
	st.Call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, bank.ID))
	st.Call(tok, "POST", "login", `{"credentials":{"username":"user_mfa_code","password":"pass_good"}}`)
	if got := funnelOf(t, st); got[banklink.FunnelChosen] != 1 || got[banklink.FunnelLoggedIn] != 0 {
		t.Fatalf("at MFA: %v", got)
	}
	_, s := st.Call(tok, "POST", "mfa", `{"answer":"`+sandbox.MFACodeAnswer+`"}`)
	if got := funnelOf(t, st); got[banklink.FunnelLoggedIn] != 1 {
		t.Fatalf("after MFA: %v", got)
	}
	id := s["accounts"].([]any)[0].(map[string]any)["id"].(string)
	if status, s := st.Call(tok, "POST", "complete", fmt.Sprintf(`{"consent":true,"accountIds":[%q]}`, id)); status != 200 {
		t.Fatalf("complete: %d %v", status, s)
	}
	st.Runner.Wait()
	got := funnelOf(t, st)
	if got[banklink.FunnelOpened] != 1 || got[banklink.FunnelChosen] != 1 || got[banklink.FunnelLoggedIn] != 1 || got[banklink.FunnelCompleted] != 1 {
		t.Fatalf("after completing: %v", got)
	}

	// connect/start named the institution: chosen when the widget opens.
	tok = st.Start(fmt.Sprintf(`{"externalCustomerId":"f2","products":["BALANCES"],"institutionId":%q}`, bank.ID)).ConnectToken
	st.Call(tok, "GET", "session", "")
	if got := funnelOf(t, st); got[banklink.FunnelOpened] != 2 || got[banklink.FunnelChosen] != 2 {
		t.Fatalf("preset institution: %v", got)
	}
}

type brokenFunnel struct{ banklink.Store }

func (brokenFunnel) RecordFunnelStep(context.Context, banklink.FunnelStep) error {
	return errors.New("funnel unavailable")
}

// TestFunnelFailureDoesNotFailWidget: recording is best effort.
func TestFunnelFailureDoesNotFailWidget(t *testing.T) {
	st := newStack(t)
	st.Widget.Store = brokenFunnel{st.Store}
	st.Widget.Linking.Store = st.Widget.Store
	id := st.Link(`{"externalCustomerId":"f3","products":["BALANCES"]}`, sandbox.UserGood)
	c, err := st.Store.FindConnectionByID(context.Background(), st.Scope, id)
	if err != nil || c.Status != banklink.StatusActive {
		t.Fatalf("connection: %v %v", c, err)
	}
	if !strings.Contains(st.Logs.String(), "record funnel step") {
		t.Error("the failure was not logged")
	}
}
