// Command banklink is the banklink service: a self-hostable,
// Meld-compatible bank-account-linking API with its Connect Widget.
//
//	banklink serve                 start the service (SQLite + sandbox by default)
//	banklink migrate               apply database migrations
//	banklink apikey create|list|revoke
//	banklink operator create|list    dashboard operators
//	banklink version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "banklink:", err)
		os.Exit(1)
	}
}

const usage = `banklink: a self-hostable, Meld-compatible bank-account-linking service

Usage:
  banklink serve [flags]                      start the API and the Connect Widget
  banklink migrate [flags]                    apply database migrations and exit
  banklink apikey create --env sandbox|production --name NAME [--account ID]
  banklink apikey list [--account ID]
  banklink apikey revoke --id KEY_ID [--account ID]
  banklink origins set --env sandbox|production --origins https://app.example.com[,...] [--account ID]
  banklink origins list [--account ID]
  banklink operator create --email EMAIL [--account ID]   password from the terminal, stdin or BANKLINK_OPERATOR_PASSWORD
  banklink operator list [--account ID]
  banklink version

Every flag falls back to an environment variable: -token-ttl is
BANKLINK_TOKEN_TTL, -database is BANKLINK_DATABASE_URL. Run
"banklink <command> -h" for a command's flags.
`

// Run is the whole program, callable from tests.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, stdout, stderr, getenv)
	case "migrate":
		return migrate(ctx, args, stdout, stderr, getenv)
	case "apikey":
		return apikey(ctx, args, stdout, stderr, getenv)
	case "origins":
		return origins(ctx, args, stdout, stderr, getenv)
	case "operator":
		return operator(ctx, args, stdout, stderr, getenv)
	case "version", "-version", "--version":
		return version(ctx, stdout)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
