// Package webhookurl holds the rules for where webhooks may be sent: a
// profile URL's shape, and the addresses (loopback, private, link-local,
// metadata, and IPv6 forms wrapping them) that a delivery must not reach
// unless the deployment's policy allows it. The use cases check profile
// URLs with Validate; the outbox sender dials through GuardControl. Both
// sides share one list, and neither imports the other.
package webhookurl

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"

	"banklink"
)

// PrivateTargets says which environments may deliver to loopback,
// private, link-local and other internal addresses.
type PrivateTargets string

// The policies. The default, none, keeps every delivery off the
// deployment's own network (cloud metadata, databases, admin ports): any
// sandbox key could otherwise use webhooks to probe it. A developer whose
// receiver runs on localhost opts in with sandbox.
const (
	PrivateNone    PrivateTargets = "none"
	PrivateSandbox PrivateTargets = "sandbox"
	PrivateAll     PrivateTargets = "all"
)

// ParsePrivateTargets reads a policy name.
func ParsePrivateTargets(s string) (PrivateTargets, error) {
	switch p := PrivateTargets(strings.ToLower(strings.TrimSpace(s))); p {
	case PrivateNone, PrivateSandbox, PrivateAll:
		return p, nil
	case "":
		return PrivateNone, nil
	}
	return "", fmt.Errorf("webhook private targets must be none, sandbox or all, not %q", s)
}

// Allows reports whether env may deliver to internal addresses.
func (p PrivateTargets) Allows(env banklink.Environment) bool {
	return p == PrivateAll || (p == PrivateSandbox && env == banklink.Sandbox)
}

func prefixes(list ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(list))
	for i, s := range list {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// nonPublic4 are the IPv4 ranges that are not public unicast (IANA's
// special-purpose registry): this network, private, CGNAT, loopback,
// link-local (cloud metadata), IETF protocol assignments, documentation,
// benchmarking, multicast and reserved (with broadcast).
var nonPublic4 = prefixes("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
	"192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
	"224.0.0.0/4", "240.0.0.0/4")

// nonPublic6 are IPv6 ranges to refuse whole, beside loopback, ULA,
// link-local, multicast and unspecified: local-use NAT64 (RFC 8215, which
// can only lead into the local network), discard-only, documentation and
// the deprecated site-local.
var nonPublic6 = prefixes("64:ff9b:1::/48", "100::/64", "2001:db8::/32", "fec0::/10")

// IPv6 forms that carry an IPv4 address a gateway or the host's own
// stack may reach: the IPv4 address decides.
var (
	nat64      = netip.MustParsePrefix("64:ff9b::/96")    // RFC 6052 well-known prefix: the last 32 bits
	compatible = netip.MustParsePrefix("::/96")           // deprecated IPv4-compatible: the last 32 bits
	translated = netip.MustParsePrefix("::ffff:0:0:0/96") // SIIT IPv4-translated (::ffff:0:a.b.c.d): the last 32 bits
	sixToFour  = netip.MustParsePrefix("2002::/16")       // 6to4: bits 16-47
	teredo     = netip.MustParsePrefix("2001::/32")       // Teredo: server in bits 32-63, client inverted in the last 32
)

// Internal reports whether ip is an address a webhook must not reach
// unless the policy allows internal targets: anything but public
// unicast, directly or wrapped in an IPv6 address.
func Internal(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return internal4(ip)
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range nonPublic6 {
		if p.Contains(ip) {
			return true
		}
	}
	for _, v4 := range embeddedIPv4(ip) {
		if internal4(v4) {
			return true
		}
	}
	return false
}

func internal4(ip netip.Addr) bool {
	for _, p := range nonPublic4 {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// embeddedIPv4 returns the IPv4 addresses an IPv6 address wraps.
func embeddedIPv4(ip netip.Addr) []netip.Addr {
	b := ip.As16()
	v4 := func(x []byte) netip.Addr { return netip.AddrFrom4([4]byte(x)) }
	switch {
	case nat64.Contains(ip), compatible.Contains(ip), translated.Contains(ip):
		return []netip.Addr{v4(b[12:16])}
	case sixToFour.Contains(ip):
		return []netip.Addr{v4(b[2:6])}
	case teredo.Contains(ip):
		client := [4]byte{^b[12], ^b[13], ^b[14], ^b[15]}
		return []netip.Addr{v4(b[4:8]), netip.AddrFrom4(client)}
	}
	return nil
}

// ErrBlocked marks a dial refused by the guard.
type ErrBlocked struct{ addr string }

// Error names no address: the answer must not tell what an internal name
// resolves to.
func (e *ErrBlocked) Error() string {
	return "blocked: the target is a loopback, private or link-local address (see -webhook-private-targets)"
}

// GuardControl refuses connections to internal addresses. It runs after
// DNS resolution, on the address actually dialled, so a name that
// resolves (or re-resolves) to an internal address is caught too.
func GuardControl(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || Internal(ip) {
		return &ErrBlocked{addr: host}
	}
	return nil
}

// MaxURLLength bounds a profile URL.
const MaxURLLength = 2048

// Validate checks a profile URL for env under policy p: absolute http
// or https (https in production), no credentials, no fragment, and in
// production no literal internal address unless the policy allows it.
func Validate(raw string, env banklink.Environment, p PrivateTargets) error {
	bad := func(format string, args ...any) error {
		return banklink.FieldErrorf("url", format, args...)
	}
	if raw == "" {
		return bad("must not be empty")
	}
	if len(raw) > MaxURLLength {
		return bad("must be at most %d characters", MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return bad("must be an absolute http or https URL")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if env == banklink.Production {
			return bad("must use https in production")
		}
	default:
		return bad("must use http or https, not %q", u.Scheme)
	}
	if u.User != nil {
		return bad("must not carry credentials; authenticate deliveries with the signature")
	}
	if u.Fragment != "" {
		return bad("must not have a fragment")
	}
	if ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && Internal(ip) && !p.Allows(env) {
		return bad("points at an internal address (%s); %s webhooks cannot be delivered there on this server (-webhook-private-targets)", ip, env)
	}
	if strings.EqualFold(u.Hostname(), "localhost") && !p.Allows(env) {
		return bad("points at localhost; %s webhooks cannot be delivered there on this server (-webhook-private-targets)", env)
	}
	return nil
}
