package pg

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// defaultSchema is where Devy's tables live, so that they never collide
// with another application's in a shared database. A search_path in
// DATABASE_URL names another (one plain lowercase name).
const defaultSchema = "devy"

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// migrationLock is the advisory lock key that serialises migrations: two
// Devy processes starting at once migrate one after the other, and the
// second finds nothing left to do.
const migrationLock = 0x64657679 // "devy"

// A migration moves the database from schema version i to i+1 (i is its
// index in migrations()). They are forward-only and run in order, in one
// transaction with the version bump, so a database is never half-migrated.
// Each one has its own test case in migrations_test.go, which fails when one
// is missing.
type migration struct {
	name string
	sql  string
}

func migrations() []migration {
	return []migration{
		{"create the audit log, pipelines, requests, review apps and incidents", `
CREATE TABLE audit (
	seq     bigserial PRIMARY KEY,
	at      timestamptz NOT NULL,
	actor   text NOT NULL,
	action  text NOT NULL,
	subject text NOT NULL,
	detail  jsonb
);
CREATE INDEX audit_action ON audit (action, seq);
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'the audit log is append-only';
END $$;
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

CREATE TABLE pipelines (
	pipeline text PRIMARY KEY,
	lock     jsonb
);

CREATE SEQUENCE request_ids;
CREATE TABLE requests (
	id          bigint PRIMARY KEY,
	pipeline    text NOT NULL,
	status      text NOT NULL,
	data        jsonb NOT NULL,
	follower    text,
	lease_until timestamptz
);
CREATE INDEX requests_open ON requests (pipeline, id) WHERE status IN ('pending', 'promoting');

CREATE TABLE review_apps (
	pr   integer PRIMARY KEY,
	data jsonb NOT NULL
);
CREATE TABLE pr_threads (
	pr      integer PRIMARY KEY,
	channel text NOT NULL,
	ts      text NOT NULL
);

CREATE SEQUENCE incident_numbers;
CREATE TABLE incidents (
	number bigint PRIMARY KEY,
	data   jsonb NOT NULL
);
CREATE TABLE incident_timeline (
	incident bigint NOT NULL REFERENCES incidents,
	seq      integer NOT NULL,
	ref      text NOT NULL DEFAULT '',
	data     jsonb NOT NULL,
	PRIMARY KEY (incident, seq)
);
CREATE UNIQUE INDEX incident_timeline_ref ON incident_timeline (incident, ref) WHERE ref <> '';
CREATE TABLE incident_channels (
	channel  text PRIMARY KEY,
	incident bigint NOT NULL REFERENCES incidents
);
`},
		{"remember Slack deliveries across processes", `
CREATE TABLE deliveries (
	key   text PRIMARY KEY,
	at    timestamptz NOT NULL,
	claim text NOT NULL
);
CREATE INDEX deliveries_at ON deliveries (at);
`},
		{"remember webhook deliveries and keep the outbox of side effects", `
CREATE TABLE webhook_deliveries (
	key text PRIMARY KEY,
	at  timestamptz NOT NULL
);
CREATE INDEX webhook_deliveries_at ON webhook_deliveries (at);
CREATE SEQUENCE effect_ids;
CREATE TABLE outbox (
	id   bigint PRIMARY KEY,
	data jsonb NOT NULL
);
`},
		{"keep monitoring signals, their records and digest slots", `
CREATE TABLE signals (
	key  text PRIMARY KEY,
	data jsonb -- NULL only inside the transaction that first stores the key
);
CREATE TABLE records (
	kind    text NOT NULL,
	key     text NOT NULL,
	at      timestamptz NOT NULL,
	payload jsonb NOT NULL,
	PRIMARY KEY (kind, at, key)
);
CREATE TABLE slots (
	key text PRIMARY KEY,
	at  timestamptz NOT NULL
);
`},
		{"keep verifications of commits on staging", `
CREATE TABLE verifications (
	pipeline text NOT NULL,
	sha      text NOT NULL,
	data     jsonb NOT NULL,
	PRIMARY KEY (pipeline, sha)
);
`},
	}
}

// migrate brings the database up to the newest schema. A database newer
// than this binary knows is refused rather than silently misread.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string, ms []migration) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema+`;
			CREATE TABLE IF NOT EXISTS `+schema+`.schema_version (version integer NOT NULL)`); err != nil {
			return err
		}
		var v int
		err := tx.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&v)
		if errors.Is(err, pgx.ErrNoRows) {
			_, err = tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES (0)`)
		}
		if err != nil {
			return err
		}
		if v > len(ms) {
			return fmt.Errorf("the database is at schema version %d but this Devy knows only up to %d; upgrade Devy", v, len(ms))
		}
		for i := v; i < len(ms); i++ {
			if _, err := tx.Exec(ctx, ms[i].sql); err != nil {
				return fmt.Errorf("migration %d (%s): %w", i+1, ms[i].name, err)
			}
		}
		_, err = tx.Exec(ctx, `UPDATE schema_version SET version = $1`, len(ms))
		return err
	})
}
