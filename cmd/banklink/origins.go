package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"banklink"
)

// parseOrigin accepts a web origin: scheme, host and optional port, no
// path. These become the widget's CSP frame-ancestors. The dashboard
// validates them the same way.
func parseOrigin(s string) (string, error) { return banklink.ParseOrigin(s) }

// origins manages which web origins may embed the widget.
func origins(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return errors.New("origins: want set or list")
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet("origins "+sub, stderr)
	envName := fs.String("env", "sandbox", "environment: sandbox or production")
	list := fs.String("origins", "", "comma-separated origins; empty clears the list")
	db, acct, err := accountCommand(ctx, fs, args, stderr, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	switch sub {
	case "set":
		env, ok := banklink.ParseEnvironment(*envName)
		if !ok {
			return fmt.Errorf("-env %q: want sandbox or production", *envName)
		}
		var out []string
		for _, o := range strings.Split(*list, ",") {
			if strings.TrimSpace(o) == "" {
				continue
			}
			origin, err := parseOrigin(o)
			if err != nil {
				return err
			}
			if err := banklink.CheckWidgetOrigin(origin, env); err != nil {
				return err
			}
			out = append(out, origin)
		}
		if err := db.SetWidgetOrigins(ctx, banklink.Scope{AccountID: acct.ID, Environment: env}, out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s widget origins of account %s: %s\n", env, acct.ID, describe(out, env))
	case "list":
		for _, env := range []banklink.Environment{banklink.Sandbox, banklink.Production} {
			got, err := db.FindWidgetOrigins(ctx, banklink.Scope{AccountID: acct.ID, Environment: env})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%-10s %s\n", env, describe(got, env))
		}
	default:
		return fmt.Errorf("origins %q: want set or list", sub)
	}
	return nil
}

func describe(origins []string, env banklink.Environment) string {
	if len(origins) > 0 {
		return strings.Join(origins, " ")
	}
	if env == banklink.Sandbox {
		return "(none configured: any origin may embed sandbox widgets)"
	}
	return "(none configured: no origin may embed production widgets)"
}
