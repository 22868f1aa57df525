package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"banklink"
	"banklink/internal/config"
	"banklink/internal/dirsync"
	"banklink/internal/httpapi"
	"banklink/internal/redact"
	"banklink/internal/sandbox"
	"banklink/internal/secretbox"
	"banklink/internal/sqlstore"
	"banklink/internal/wiring"
)

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("banklink "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func newLogger(cfg *config.Config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, fmt.Errorf("-log-level %q: %w", cfg.LogLevel, err)
	}
	// Secrets never reach the log, whatever a caller passes.
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: redact.ReplaceAttr}
	switch cfg.LogFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format %q: want text or json", cfg.LogFormat)
}

// openStore opens the configured database, creating the SQLite data
// directory when needed.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger, migrate bool) (*sqlstore.DB, error) {
	if sqlstore.DialectOf(cfg.Database) == sqlstore.SQLite {
		if err := os.MkdirAll(filepath.Dir(cfg.Database), 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}
	opt := sqlstore.Options{Migrate: migrate, Logger: log}
	if cfg.EncryptionKeys != "" {
		keys, err := secretbox.ParseKeys(cfg.EncryptionKeys)
		if err != nil {
			return nil, fmt.Errorf("-encryption-keys: %w", err)
		}
		if opt.Sealer, err = secretbox.NewRing(keys...); err != nil {
			return nil, fmt.Errorf("-encryption-keys: %w", err)
		}
	} else if sqlstore.DialectOf(cfg.Database) == sqlstore.Postgres {
		log.Warn("provider credentials are encrypted with a key kept in the database itself; set BANKLINK_ENCRYPTION_KEYS for production")
	}
	return sqlstore.Open(ctx, cfg.Database, opt)
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg := config.Default()
	fs := newFlagSet("migrate", stderr)
	cfg.Register(fs, false)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := cfg.Load(fs, getenv); err != nil {
		return err
	}
	log, err := newLogger(&cfg, stderr)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, &cfg, log, true)
	if err != nil {
		return err
	}
	defer db.Close()
	cur, _, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database %s is at schema version %d\n", redactDSN(cfg.Database), cur)
	return nil
}

// redactDSN hides a password in a postgres:// URL.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.Index(dsn[i+3:], "@"); at >= 0 {
			cred := dsn[i+3 : i+3+at]
			if user, _, ok := strings.Cut(cred, ":"); ok {
				return dsn[:i+3] + user + ":***" + dsn[i+3+at:]
			}
		}
	}
	return dsn
}

func version(ctx context.Context, stdout io.Writer) error {
	v, rev := "(devel)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = " " + s.Value
			}
		}
	}
	fmt.Fprintf(stdout, "banklink %s%s, API versions %s\n", v, rev, strings.Join(httpapi.Versions, ", "))
	return nil
}

// defaultAccount returns the account named by id, or the oldest account
// but the demo page's, creating "Default account" when there is none.
func defaultAccount(ctx context.Context, db banklink.Store, id string) (*banklink.Account, error) {
	if id != "" {
		return db.FindAccountByID(ctx, id)
	}
	all, err := db.FindAccounts(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range all {
		if a.ID != wiring.DemoAccountID { // the demo page's, never an app's
			return a, nil
		}
	}
	a := &banklink.Account{ID: banklink.NewID(), Name: "Default account"}
	return a, db.CreateAccount(ctx, a)
}

func apikey(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return errors.New("apikey: want create, list or revoke")
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet("apikey "+sub, stderr)
	envName := fs.String("env", "sandbox", "environment of the new key: sandbox or production")
	name := fs.String("name", "", "a name for the new key, e.g. \"ci\" or \"backend-prod\"")
	keyID := fs.String("id", "", "id of the key to revoke (the part after bl_<env>_)")
	db, acct, err := accountCommand(ctx, fs, args, stderr, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	switch sub {
	case "create":
		env, ok := banklink.ParseEnvironment(*envName)
		if !ok {
			return fmt.Errorf("-env %q: want sandbox or production", *envName)
		}
		if strings.TrimSpace(*name) == "" {
			return errors.New("-name is required")
		}
		k, plain := banklink.NewAPIKey(acct.ID, env, strings.TrimSpace(*name), httpapi.LatestVersion, time.Now())
		if err := db.CreateAPIKey(ctx, k); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "Created %s key %q (id %s) for account %s. It is shown once; store it now:\n", env, k.Name, k.ID, acct.ID)
		fmt.Fprintln(stdout, plain)
	case "list":
		keys, err := db.FindAPIKeys(ctx, acct.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%-22s  %-10s  %-20s  %-20s  %s\n", "ID", "ENV", "NAME", "CREATED", "REVOKED")
		for _, k := range keys {
			revoked := "-"
			if k.RevokedAt != nil {
				revoked = k.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(stdout, "%-22s  %-10s  %-20s  %-20s  %s\n", k.ID, k.Environment, k.Name, k.CreatedAt.Format(time.RFC3339), revoked)
		}
	case "revoke":
		if *keyID == "" {
			return errors.New("-id is required")
		}
		if err := db.RevokeAPIKey(ctx, acct.ID, *keyID, time.Now()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked key %s\n", *keyID)
	default:
		return fmt.Errorf("apikey %q: want create, list or revoke", sub)
	}
	return nil
}

// signingSecrets returns the configured token secrets, or the one generated
// at first start and kept in the database (so replicas share it).
func signingSecrets(ctx context.Context, cfg *config.Config, db banklink.Store) ([][]byte, error) {
	if len(cfg.TokenSecrets) > 0 {
		out := make([][]byte, len(cfg.TokenSecrets))
		for i, s := range cfg.TokenSecrets {
			out[i] = []byte(s)
		}
		return out, nil
	}
	var fresh [32]byte
	rand.Read(fresh[:])
	sec, err := db.EnsureSecret(ctx, "connect-token-hs256", fresh[:])
	if err != nil {
		return nil, err
	}
	return [][]byte{sec}, nil
}

// seedDirectory loads the sandbox directory into an empty database.
func seedDirectory(ctx context.Context, cfg *config.Config, db banklink.Store, log *slog.Logger) error {
	v, err := db.InstitutionsVersion(ctx)
	if err != nil || v > 0 {
		return err
	}
	start := time.Now()
	list := sandbox.Directory(cfg.DirectorySeed, cfg.DirectorySize)
	if err := db.UpsertInstitutions(ctx, list); err != nil {
		return err
	}
	log.Info("loaded sandbox institution directory", slog.Int("institutions", len(list)), slog.Duration("took", time.Since(start)))
	return nil
}

// accountCommand is the common start of the commands that manage one
// account: it adds the database and -account flags to fs, parses args,
// opens (and migrates) the database and finds the account.
func accountCommand(ctx context.Context, fs *flag.FlagSet, args []string, stderr io.Writer, getenv func(string) string) (*sqlstore.DB, *banklink.Account, error) {
	cfg := config.Default()
	cfg.Register(fs, false)
	account := fs.String("account", "", "account id (default: the first account)")
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if err := cfg.Load(fs, getenv); err != nil {
		return nil, nil, err
	}
	log, err := newLogger(&cfg, stderr)
	if err != nil {
		return nil, nil, err
	}
	db, err := openStore(ctx, &cfg, log, true)
	if err != nil {
		return nil, nil, err
	}
	acct, err := defaultAccount(ctx, db, *account)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, acct, nil
}

// institutionLister is a provider with a directory of its own.
type institutionLister = dirsync.Lister

// syncDirectory merges a provider's institution directory into banklink's
// (in the background at start: it is a network call to the provider).
func syncDirectory(ctx context.Context, db banklink.Store, p institutionLister, providerType string, log *slog.Logger) {
	start := time.Now()
	// A rate limit or an outage at the provider is waited out (with
	// back-off, or as long as its Retry-After says) rather than leaving
	// the directory without the provider until the next start.
	incoming, err := dirsync.Fetch(ctx, p, dirsync.Retry{OnRetry: func(attempt int, wait time.Duration, err error) {
		log.Warn("provider directory sync: retrying", slog.String("provider", providerType), slog.Int("attempt", attempt),
			slog.Duration("wait", wait), slog.Any("err", err))
	}})
	if err != nil {
		log.Warn("provider directory sync failed", slog.String("provider", providerType), slog.Any("err", err))
		return
	}
	existing, err := db.FindInstitutions(ctx)
	if err != nil {
		log.Warn("provider directory sync failed", slog.String("provider", providerType), slog.Any("err", err))
		return
	}
	updated, added := dirsync.Merge(existing, incoming, providerType)
	if err := db.UpsertInstitutions(ctx, append(updated, added...)); err != nil {
		log.Warn("provider directory sync failed", slog.String("provider", providerType), slog.Any("err", err))
		return
	}
	log.Info("provider directory synced", slog.String("provider", providerType), slog.Int("updated", len(updated)),
		slog.Int("added", len(added)), slog.Duration("took", time.Since(start)))
}
