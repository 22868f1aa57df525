package main

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"banklink/internal/config"
)

// TestLoggerRedacts: whatever a log call carries, the service's logger
// (both formats) writes no API key, connect token or password.
func TestLoggerRedacts(t *testing.T) {
	const key = "bl_sandbox_3mJr7AoUXx2Wqd_Zt8qLw0rYcN5XbJ1uVfKp9sAe4Hg2"
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			cfg := config.Default()
			cfg.LogFormat = format
			log, err := newLogger(&cfg, &buf)
			if err != nil {
				t.Fatal(err)
			}
			log.Warn("request failed", slog.Any("err", errors.New("rejected "+key)), slog.String("password", "pass_good"),
				slog.String("database", "postgres://banklink:s3cret@db/banklink"))
			out := buf.String()
			for _, secret := range []string{key, "pass_good", "s3cret"} {
				if strings.Contains(out, secret) {
					t.Errorf("log contains %q: %s", secret, out)
				}
			}
		})
	}
}
