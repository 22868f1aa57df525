package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"banklink"
	"banklink/internal/config"
	"banklink/internal/dashboard"

	"golang.org/x/term"
)

// stdin is where `operator create` reads the password; tests replace it.
var stdin io.Reader = os.Stdin

// operatorPasswordEnv passes a new operator's password without a
// terminal (never as a flag: flags show in ps and shell history).
const operatorPasswordEnv = "BANKLINK_OPERATOR_PASSWORD"

// operator manages the people who sign in to the dashboard.
func operator(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return errors.New("operator: want create or list")
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet("operator "+sub, stderr)
	email := fs.String("email", "", "the operator's email, used to sign in")
	db, acct, err := accountCommand(ctx, fs, args, stderr, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	switch sub {
	case "create":
		if strings.TrimSpace(*email) == "" {
			return errors.New("-email is required")
		}
		pw, err := readPassword(stderr, getenv)
		if err != nil {
			return err
		}
		o, err := dashboard.NewOperator(acct.ID, *email, pw)
		if err != nil {
			return err
		}
		if err := db.CreateOperator(ctx, o); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created operator %s (id %s) for account %s; sign in at <public-url>%s\n", o.Email, o.ID, acct.ID, dashboard.Base)
	case "list":
		ops, err := db.FindOperators(ctx, acct.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%-22s  %-40s  %s\n", "ID", "EMAIL", "CREATED")
		for _, o := range ops {
			fmt.Fprintf(stdout, "%-22s  %-40s  %s\n", o.ID, o.Email, o.CreatedAt.Format(time.RFC3339))
		}
	default:
		return fmt.Errorf("operator %q: want create or list", sub)
	}
	return nil
}

// readPassword takes the new password from BANKLINK_OPERATOR_PASSWORD,
// else from the terminal (not echoed, asked twice), else from the first
// line of standard input.
func readPassword(stderr io.Writer, getenv func(string) string) (string, error) {
	if pw := getenv(operatorPasswordEnv); pw != "" {
		return pw, nil
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		ask := func(prompt string) (string, error) {
			fmt.Fprint(stderr, prompt)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(stderr)
			return string(b), err
		}
		pw, err := ask(fmt.Sprintf("Password for the new operator (at least %d characters): ", dashboard.MinPasswordLength))
		if err != nil {
			return "", err
		}
		again, err := ask("Repeat it: ")
		if err != nil {
			return "", err
		}
		if pw != again {
			return "", errors.New("the passwords differ")
		}
		return pw, nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", fmt.Errorf("no password: pipe it on standard input or set %s", operatorPasswordEnv)
	}
	return pw, nil
}

// printDashboardBanner tells where the dashboard is and, while there is
// no operator (none is ever made automatically), how to create one.
func printDashboardBanner(ctx context.Context, w io.Writer, cfg *config.Config, db banklink.OperatorStore) {
	n, err := db.CountOperators(ctx)
	if err != nil {
		return
	}
	fmt.Fprintf(w, "  Operator dashboard:                  %s%s\n", cfg.PublicURL, dashboard.Base)
	if n == 0 {
		fmt.Fprintf(w, "  No operator can sign in yet; create one with:\n")
		fmt.Fprintf(w, "    banklink operator create --email you@example.com   (asks for the password, or reads %s)\n", operatorPasswordEnv)
	}
}
