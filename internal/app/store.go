package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/devy-chatops/devy/commands/deploy"
	"github.com/devy-chatops/devy/commands/incident"
	"github.com/devy-chatops/devy/commands/notify"
	"github.com/devy-chatops/devy/commands/reviewapp"
	"github.com/devy-chatops/devy/config"
	"github.com/devy-chatops/devy/store/bolt"
	"github.com/devy-chatops/devy/store/pg"
	"github.com/devy-chatops/devy/webhooks"
)

// state is everything Devy keeps: what the commands need of a store, plus
// the webhooks' deliveries and the health check. *bolt.DB (bbolt, one process) and *pg.DB (PostgreSQL,
// any number of processes) both provide it.
type state interface {
	deploy.Store
	reviewapp.Store
	incident.Store
	notify.Store
	statsDB
	signalDB
	requestDB
	webhooks.Deliveries
	Ping() error
	Close() error
}

// openStore opens PostgreSQL when DATABASE_URL is set, else the bbolt file
// at DEVY_DB_PATH. Its errors are one line naming the variable, as every
// start-up failure is.
func openStore(ctx context.Context, cfg config.Config) (state, error) {
	if cfg.DatabaseURL != "" {
		db, err := pg.Open(ctx, cfg.DatabaseURL.Value())
		if err != nil {
			// pgx adds a line per host it tried; the first says what failed
			// (pg.Open starts it with DATABASE_URL).
			first, _, _ := strings.Cut(err.Error(), "\n")
			return nil, errors.New(first) // never a typed nil in the interface
		}
		return db, nil
	}
	db, err := bolt.Open(cfg.DBPath, time.Second)
	if err != nil {
		return nil, fmt.Errorf("DEVY_DB_PATH: %w", err)
	}
	return db, nil
}

// storeName says in the log which store is in use, without the URL's
// password.
func storeName(cfg config.Config) string {
	if cfg.DatabaseURL != "" {
		return "postgresql (DATABASE_URL " + cfg.DatabaseURL.String() + ")"
	}
	return "bbolt " + cfg.DBPath
}

// migrateStore is `devy migrate-store --from bbolt:devy.db --to "$DATABASE_URL"`:
// it copies a bbolt file into an empty PostgreSQL database and prints the
// counts both sides agree on.
func migrateStore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := errors.New(`usage: devy migrate-store --from bbolt:devy.db --to "$DATABASE_URL"`)
	fs := flag.NewFlagSet("migrate-store", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the bbolt file to copy, as bbolt:<path> (stop Devy first)")
	to := fs.String("to", "", "the PostgreSQL database to copy into (a postgres:// URL, e.g. \"$DATABASE_URL\")")
	if err := fs.Parse(args); err != nil {
		return usage
	}
	path, ok := strings.CutPrefix(*from, "bbolt:")
	if !ok || path == "" || *to == "" || fs.NArg() > 0 {
		return usage
	}
	// bolt.Open would create a missing file; a typo must not copy nothing.
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("migrate-store: %w", err)
	}
	src, err := bolt.Open(path, time.Second)
	if err != nil {
		return fmt.Errorf("migrate-store: %w", err)
	}
	defer src.Close()
	dst, err := pg.Open(ctx, *to)
	if err != nil {
		return errors.New("migrate-store: " + strings.Replace(err.Error(), "DATABASE_URL", "--to", 1))
	}
	defer dst.Close()
	c, err := dst.Import(ctx, src)
	if err != nil {
		return fmt.Errorf("migrate-store: %w", err)
	}
	fmt.Fprintf(stdout, "Copied %s into PostgreSQL; both sides now hold:\n", path)
	for _, row := range []struct {
		n    int
		what string
	}{
		{c.Requests, "promotion requests"}, {c.Locks, "locks"}, {c.Audit, "audit entries"},
		{c.ReviewApps, "review apps"}, {c.PRThreads, "PR threads"}, {c.Incidents, "incidents"},
		{c.TimelineEntries, "incident timeline entries"}, {c.IncidentChannels, "incident channels"},
		{c.Signals, "signals"}, {c.Records, "signal records"}, {c.Slots, "slots (digests, reminders)"},
		{c.Verifications, "verifications on staging"},
	} {
		fmt.Fprintf(stdout, "%8d  %s\n", row.n, row.what)
	}
	fmt.Fprintln(stdout, "Set DATABASE_URL on Devy and restart it; it then keeps its state in PostgreSQL.")
	return nil
}
