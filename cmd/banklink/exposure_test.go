package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestHeaderLimit: a request's headers are bounded well below Go's 1 MB
// default, which let every request of a flood hold a megabyte.
func TestHeaderLimit(t *testing.T) {
	srv := serveForTest(t, "-data-dir", t.TempDir())
	for _, tt := range []struct {
		name   string
		size   int
		status int
	}{
		{"a token-sized header", 8 << 10, http.StatusUnauthorized},
		{"a 128 KiB header", 128 << 10, http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.url+"/connect/api/session", nil)
			req.Header.Set("Authorization", "Bearer "+strings.Repeat("x", tt.size))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
}
