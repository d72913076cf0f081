package pg

import (
	"context"
	"testing"
	"time"

	"github.com/devy-chatops/devy/internal/pgtest"
)

// Every migration must have a case here: the test fails when a migration is
// added without one.
func TestMigrations(t *testing.T) {
	tables := func(names ...string) func(t *testing.T, q querier) {
		return func(t *testing.T, q querier) {
			for _, n := range names {
				var ok bool
				if err := q.QueryRow(context.Background(), `SELECT to_regclass($1) IS NOT NULL`, n).Scan(&ok); err != nil || !ok {
					t.Errorf("%s missing after migration (%v)", n, err)
				}
			}
		}
	}
	cases := map[int]func(t *testing.T, q querier){
		1: tables("audit", "pipelines", "requests", "request_ids", "review_apps", "pr_threads", "incidents", "incident_numbers", "incident_timeline", "incident_channels"),
		2: tables("deliveries"),
		3: tables("webhook_deliveries", "effect_ids", "outbox"),
		4: tables("signals", "records", "slots"),
		5: tables("verifications"),
	}
	ms := migrations()
	if len(cases) != len(ms) {
		t.Fatalf("%d migrations but %d test cases: add a case for each migration", len(ms), len(cases))
	}
	for i := range ms {
		t.Run(ms[i].name, func(t *testing.T) {
			db := openURL(t, pgtest.URL(t), time.Now)
			ctx := context.Background()
			// Start again from nothing, then apply migrations 1…i+1.
			if _, err := db.pool.Exec(ctx, `DROP SCHEMA `+db.schema+` CASCADE`); err != nil {
				t.Fatal(err)
			}
			if err := migrate(ctx, db.pool, db.schema, ms[:i+1]); err != nil {
				t.Fatal(err)
			}
			if v, err := db.SchemaVersion(); err != nil || v != uint64(i+1) {
				t.Errorf("schema version = %d, %v; want %d", v, err, i+1)
			}
			cases[i+1](t, db.pool)
			// Applying them again changes nothing.
			if err := migrate(ctx, db.pool, db.schema, ms[:i+1]); err != nil {
				t.Fatalf("second run: %v", err)
			}
		})
	}
}
