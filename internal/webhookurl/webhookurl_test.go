package webhookurl_test

import (
	"net/netip"
	"strings"
	"testing"

	"banklink"
	"banklink/internal/webhookurl"
)

func TestParsePrivateTargets(t *testing.T) {
	for in, want := range map[string]webhookurl.PrivateTargets{"": webhookurl.PrivateNone, "none": webhookurl.PrivateNone, " Sandbox ": webhookurl.PrivateSandbox, "all": webhookurl.PrivateAll} {
		if got, err := webhookurl.ParsePrivateTargets(in); err != nil || got != want {
			t.Errorf("ParsePrivateTargets(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := webhookurl.ParsePrivateTargets("some"); err == nil {
		t.Error("an unknown policy was accepted")
	}
}

func TestValidateURL(t *testing.T) {
	for _, tt := range []struct {
		url     string
		env     banklink.Environment
		policy  webhookurl.PrivateTargets
		wantErr string
	}{
		{"https://hooks.example.com/banklink", banklink.Production, webhookurl.PrivateSandbox, ""},
		{"http://hooks.example.com/banklink", banklink.Sandbox, webhookurl.PrivateSandbox, ""},
		{"http://127.0.0.1:8080/hooks", banklink.Sandbox, webhookurl.PrivateSandbox, ""},
		{"http://hooks.example.com/banklink", banklink.Production, webhookurl.PrivateSandbox, "must use https"},
		{"https://127.0.0.1/hooks", banklink.Production, webhookurl.PrivateSandbox, "internal address"},
		{"https://[::1]/hooks", banklink.Production, webhookurl.PrivateSandbox, "internal address"},
		{"https://169.254.169.254/latest/meta-data", banklink.Production, webhookurl.PrivateSandbox, "internal address"},
		{"https://10.1.2.3/hooks", banklink.Production, webhookurl.PrivateSandbox, "internal address"},
		{"https://localhost/hooks", banklink.Production, webhookurl.PrivateSandbox, "localhost"},
		{"https://10.1.2.3/hooks", banklink.Production, webhookurl.PrivateAll, ""},
		{"http://10.1.2.3/hooks", banklink.Sandbox, webhookurl.PrivateNone, "internal address"},
		{"http://127.0.0.1:8080/hooks", banklink.Sandbox, webhookurl.PrivateNone, "sandbox webhooks cannot be delivered there"},
		{"http://localhost:8080/hooks", banklink.Sandbox, webhookurl.PrivateNone, "localhost"},
		{"ftp://example.com/x", banklink.Sandbox, webhookurl.PrivateSandbox, "http or https"},
		{"/relative", banklink.Sandbox, webhookurl.PrivateSandbox, "absolute"},
		{"https://user:pw@example.com/", banklink.Sandbox, webhookurl.PrivateSandbox, "credentials"},
		{"https://example.com/#frag", banklink.Sandbox, webhookurl.PrivateSandbox, "fragment"},
		{"", banklink.Sandbox, webhookurl.PrivateSandbox, "empty"},
		{"https://example.com/" + strings.Repeat("a", 3000), banklink.Sandbox, webhookurl.PrivateSandbox, "at most"},
	} {
		t.Run(tt.url, func(t *testing.T) {
			err := webhookurl.Validate(tt.url, tt.env, tt.policy)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("ValidateURL: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || banklink.ErrorCode(err) != banklink.EBADREQUEST):
				t.Errorf("ValidateURL = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestInternal: the guard refuses every non-public address, including
// IPv6 forms through which a gateway or the host's own stack would reach
// a private IPv4 address (NAT64, 6to4, Teredo, mapped, compatible).
func TestInternal(t *testing.T) {
	for _, tt := range []struct {
		name     string
		addr     string
		internal bool
	}{
		{"public IPv4", "8.8.8.8", false},
		{"public IPv6", "2606:4700:4700::1111", false},
		{"loopback", "127.0.0.1", true},
		{"private", "10.1.2.3", true},
		{"metadata", "169.254.169.254", true},
		{"CGNAT", "100.64.0.1", true},
		{"this network", "0.0.0.1", true},
		{"benchmarking", "198.18.0.1", true},
		{"reserved", "240.0.0.1", true},
		{"broadcast", "255.255.255.255", true},
		{"IPv6 loopback", "::1", true},
		{"ULA", "fd00::1", true},
		{"IPv6 link-local", "fe80::1", true},
		{"site-local", "fec0::1", true},
		{"unspecified", "::", true},
		{"IPv4-mapped loopback", "::ffff:127.0.0.1", true},
		{"IPv4-mapped public", "::ffff:8.8.8.8", false},
		{"IPv4-compatible private", "::10.0.0.1", true},
		{"IPv4-compatible public", "::8.8.8.8", false},
		{"IPv4-translated private", "::ffff:0:10.0.0.1", true},
		{"NAT64 private", "64:ff9b::10.0.0.1", true},
		{"NAT64 loopback", "64:ff9b::7f00:1", true},
		{"NAT64 metadata", "64:ff9b::a9fe:a9fe", true},
		{"NAT64 public", "64:ff9b::8.8.8.8", false},
		{"local-use NAT64, whatever it wraps", "64:ff9b:1::808:808", true},
		{"6to4 private", "2002:a00:1::1", true},
		{"6to4 loopback", "2002:7f00:1::", true},
		{"6to4 public", "2002:808:808::1", false},
		{"Teredo, private client", "2001:0:808:808::f5ff:fffe", true}, // client ^0a.00.00.01
		{"Teredo, private server", "2001:0:a00:1::f7f7:f7f7", true},   // server 10.0.0.1
		{"Teredo, public both", "2001:0:808:808::f7f7:f7f7", false},   // client ^08.08.08.08
		{"documentation IPv6", "2001:db8::1", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := webhookurl.Internal(netip.MustParseAddr(tt.addr)); got != tt.internal {
				t.Errorf("internal(%s) = %v, want %v", tt.addr, got, tt.internal)
			}
		})
	}
	// A profile URL with such a literal is refused as internal.
	if err := webhookurl.Validate("https://[64:ff9b::a00:1]/hooks", banklink.Production, webhookurl.PrivateNone); err == nil || !strings.Contains(err.Error(), "internal address") {
		t.Errorf("NAT64 literal: %v", err)
	}
}
