package webhooks

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

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// internal reports whether ip is an address a production webhook must not
// reach.
func internal(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || cgnat.Contains(ip) ||
		(ip.Is4() && ip.As4()[0] == 0)
}

// errBlocked marks a dial refused by the guard.
type errBlocked struct{ addr string }

// Error names no address: the answer must not tell what an internal name
// resolves to.
func (e *errBlocked) Error() string {
	return "blocked: the target is a loopback, private or link-local address (see -webhook-private-targets)"
}

// guardControl refuses connections to internal addresses. It runs after
// DNS resolution, on the address actually dialled, so a name that
// resolves (or re-resolves) to an internal address is caught too.
func guardControl(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || internal(ip) {
		return &errBlocked{addr: host}
	}
	return nil
}

// MaxURLLength bounds a profile URL.
const MaxURLLength = 2048

// ValidateURL checks a profile URL for env under policy p: absolute http
// or https (https in production), no credentials, no fragment, and in
// production no literal internal address unless the policy allows it.
func ValidateURL(raw string, env banklink.Environment, p PrivateTargets) error {
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
	if ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && internal(ip) && !p.Allows(env) {
		return bad("points at an internal address (%s); %s webhooks cannot be delivered there on this server (-webhook-private-targets)", ip, env)
	}
	if strings.EqualFold(u.Hostname(), "localhost") && !p.Allows(env) {
		return bad("points at localhost; %s webhooks cannot be delivered there on this server (-webhook-private-targets)", env)
	}
	return nil
}
