package pg

import (
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/devy-chatops/devy/store"
)

// Verifications needs no row lock: Verify holds the pipeline's row, and
// a verification is only ever added.
func (t *pgTx) Verifications(pipeline string, shas []string) (map[string]store.Verification, error) {
	out := map[string]store.Verification{}
	if len(shas) == 0 {
		return out, nil
	}
	rows, err := t.q.Query(t.ctx, `SELECT data FROM verifications WHERE pipeline = $1 AND sha = ANY($2)`, pipeline, shas)
	if err != nil {
		return nil, fmt.Errorf("read verifications of %s: %w", pipeline, err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[store.Verification])
	if err != nil {
		return nil, fmt.Errorf("read verifications of %s: %w", pipeline, err)
	}
	for _, v := range vs {
		out[v.SHA] = v
	}
	return out, nil
}

func (t *pgTx) PutVerification(v store.Verification) error {
	return t.exec("keep the verification of "+v.SHA, `INSERT INTO verifications (pipeline, sha, data) VALUES ($1, $2, $3)
		ON CONFLICT (pipeline, sha) DO UPDATE SET data = EXCLUDED.data`, v.Pipeline, v.SHA, v)
}
