package pg

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/devy-chatops/devy/store"
)

// IncidentByChannel finds the incident whose own channel is channelID.
func (db *DB) IncidentByChannel(channelID string) (store.Incident, error) {
	var inc store.Incident
	err := db.read("find the channel's incident", func(ctx context.Context, q querier) error {
		err := q.QueryRow(ctx, `SELECT i.data FROM incident_channels c JOIN incidents i ON i.number = c.incident WHERE c.channel = $1`, channelID).Scan(&inc)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		return err
	})
	return inc, err
}

// Incidents returns every incident, newest first.
func (db *DB) Incidents() ([]store.Incident, error) {
	var out []store.Incident
	err := db.read("list incidents", func(ctx context.Context, q querier) error {
		rows, err := q.Query(ctx, `SELECT data FROM incidents ORDER BY number DESC`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[store.Incident])
		return err
	})
	return out, err
}
