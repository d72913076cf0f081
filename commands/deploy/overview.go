package deploy

import (
	"context"
	"strings"

	"github.com/devy-chatops/devy/commands/deploy/describe"
	"github.com/devy-chatops/devy/commands/deploy/pipeline"
)

// Overview is the pipeline as the App Home shows it, in /deploy status's
// words: each field is mrkdwn, ready to show.
type Overview struct {
	Pipeline   string   // its name
	Staging    string   // staging's release line
	Production []string // each production app's release line
	Ahead      string   // how far staging is ahead
	CI         string   // CI for staging's commit
	Lock       string
	Pending    string // the pending request, "" when none
	// CanRequest is set when staging runs code production does not and
	// nothing is pending or locked: a Request promotion button makes sense.
	CanRequest bool
}

// Overview reads the pipeline's state the way /deploy status does (sharing
// its reads), for the App Home.
func (d *Desk) Overview(ctx context.Context) (Overview, error) {
	v, err := d.pipe.Status(ctx)
	if err != nil {
		return Overview{}, err
	}
	s, now := v.Snapshot, d.store.Now()
	o := Overview{Pipeline: s.Pipeline.Name, Staging: describe.Release(s.Staging, d.shaLink, now), Ahead: v.Ahead,
		CI: "CI for staging's " + d.shaLink(s.Staging.Release.Commit) + ": " + v.CI.String()}
	behind := false
	for _, p := range s.Production {
		o.Production = append(o.Production, describe.Release(p, d.shaLink, now))
		behind = behind || !pipeline.SameCode(s.Staging.Release, p.Release)
	}
	if o.Lock, err = d.lockLine(); err != nil {
		return Overview{}, err
	}
	r, err := d.store.OpenRequest(s.Pipeline.ID)
	if err != nil {
		return Overview{}, err
	}
	if r != nil {
		o.Pending = describe.Open(*r, now)
	}
	o.CanRequest = behind && r == nil && strings.HasPrefix(o.Lock, "🔓")
	return o, nil
}
