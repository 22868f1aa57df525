package redact

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestReplaceAttr(t *testing.T) {
	const key = "bl_sandbox_3mJr7AoUXx2Wqd_Zt8qLw0rYcN5XbJ1uVfKp9sAe4Hg2"
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjb25uIn0.c2lnbmF0dXJl"
	for _, tt := range []struct {
		name string
		attr slog.Attr
		want string // "" means unchanged
	}{
		{"secret by name", slog.String("webhook_secret", "anything"), Mask},
		{"password by name", slog.String("Password", "hunter2"), Mask},
		{"token by name", slog.String("connect_token", "x"), Mask},
		{"authorization header", slog.String("authorization", "BASIC abc"), Mask},
		{"api key inside a message", slog.String("err", "bad key "+key+" sent"), "bad key " + Mask + " sent"},
		{"jwt inside a message", slog.String("url", "/connect?connectToken="+jwt), "/connect?connectToken=" + Mask},
		{"webhook secret", slog.String("msg2", "whsec_abcDEF123-_"), Mask},
		{"dsn password", slog.String("database", "postgres://u:pw@db:5432/x"), "postgres://u:" + Mask + "@db:5432/x"},
		{"error value", slog.Any("err", errors.New("auth "+key)), "auth " + Mask},
		{"plaid access token in an error", slog.String("err", "item access-sandbox-de3ce8ef-33f8-452c-a685-8671031fc0f6 refused"), "item " + Mask + " refused"},
		{"processor token", slog.String("detail", "sent processor-sandbox-0asd1-a92nc"), "sent " + Mask},
		{"production processor token", slog.String("detail", "processor-production-abc123"), Mask},
		{"stripe bank account token", slog.String("detail", "btok_5oEetfLzPklE1fwJZ7SG."), Mask + "."},
		{"a sandbox word alone", slog.String("env", "the sandbox-b provider"), ""},
		{"plain id", slog.String("api_key_id", "3mJr7AoUXx2Wqd"), ""},
		{"email stays", slog.String("note", "mail a@example.com"), ""},
		{"number", slog.Int("status", 401), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := ReplaceAttr(nil, tt.attr)
			want := tt.want
			if want == "" {
				want = tt.attr.Value.String()
			}
			if got.Value.String() != want {
				t.Errorf("got %q, want %q", got.Value.String(), want)
			}
		})
	}
}

func TestJSONLogRedacted(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: ReplaceAttr}))
	log.Info("login", slog.String("password", "pass_good"), slog.Group("req", slog.String("token", "t0ps3cret")))
	if s := buf.String(); strings.Contains(s, "pass_good") || strings.Contains(s, "t0ps3cret") || !strings.Contains(s, Mask) {
		t.Errorf("log line: %s", s)
	}
}
