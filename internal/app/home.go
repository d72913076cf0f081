package app

import (
	"github.com/rs/zerolog"

	"context"
	"time"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/deploy"
	"github.com/devy-chatops/devy/commands/home"
	"github.com/devy-chatops/devy/commands/stats"
	"github.com/devy-chatops/devy/store"
)

// newHome builds the App Home over the capabilities and registers it on the
// router. desk is nil without Heroku. It refreshes open tabs only when ui
// can publish them (Slack; the shell has no Home), at most once per person
// every `every` (0: home's 10 seconds).
func newHome(router *commands.Router, desk *deploy.Desk, db state, src stats.Source, loc *time.Location, window time.Duration, ui chat, bg *commands.Background, every time.Duration, log zerolog.Logger) *home.Home {
	deps := home.Deps{
		Incidents: homeIncidents{db}, ReviewApps: homeReviewApps{db}, Keys: homeKeys{src: src, loc: loc, window: window},
		Bg: bg, Log: log, Every: every,
	}
	if desk != nil {
		deps.Deploy = homeDeploy{desk}
	}
	if p, ok := ui.(home.Publisher); ok {
		deps.Publisher = p
	}
	for _, c := range router.Commands() {
		deps.Usage = append(deps.Usage, c.Usage())
	}
	h := home.New(deps)
	router.OnHome(h.Opened)
	return h
}

type homeDeploy struct{ desk *deploy.Desk }

func (d homeDeploy) Pipeline(ctx context.Context) (home.Pipeline, error) {
	o, err := d.desk.Overview(ctx)
	if err != nil {
		return home.Pipeline{}, err
	}
	return home.Pipeline{Name: o.Pipeline, Staging: o.Staging, Production: o.Production, Ahead: o.Ahead, CI: o.CI,
		Lock: o.Lock, Pending: o.Pending, CanRequest: o.CanRequest}, nil
}

type homeIncidents struct {
	db interface {
		Incidents() ([]store.Incident, error)
	}
}

func (h homeIncidents) OpenIncidents(context.Context) ([]home.Incident, error) {
	all, err := h.db.Incidents()
	if err != nil {
		return nil, err
	}
	var open []home.Incident
	for _, i := range all {
		if i.Open() {
			open = append(open, home.Incident{Number: i.Number, Title: i.Title, Severity: i.Severity, ChannelID: i.Channel, OpenedAt: i.OpenedAt})
		}
	}
	return open, nil
}

// homeReviewApps lists the review apps a person asked for that the store
// follows (those still building).
type homeReviewApps struct {
	db interface {
		ReviewAppsBuilding() ([]store.ReviewApp, error)
	}
}

func (h homeReviewApps) ReviewAppsOf(_ context.Context, user string) ([]home.ReviewApp, error) {
	all, err := h.db.ReviewAppsBuilding()
	if err != nil {
		return nil, err
	}
	var mine []home.ReviewApp
	for _, a := range all {
		if a.RequestedBy == user {
			mine = append(mine, home.ReviewApp{PR: a.PR, Branch: a.Branch, Status: a.Status, URL: a.WebURL})
		}
	}
	return mine, nil
}

type homeKeys struct {
	src    stats.Source
	loc    *time.Location
	window time.Duration // DEVY_SUSPECT_WINDOW
}

func (k homeKeys) Keys(ctx context.Context) ([]string, error) {
	now := time.Now()
	h, err := stats.Load(ctx, k.src, stats.WindowAt(stats.Month, now, k.loc))
	if err != nil {
		return nil, err
	}
	return stats.Compute(h, stats.Month, now, k.loc, k.window).KeyLines(), nil
}

// watchedState is the store as the commands see it, telling the App Home
// of every change its dashboard shows: requests, decisions, promotions'
// ends, locks and incidents opened or resolved.
type watchedState struct {
	state
	changed func()
}

func (w watchedState) tell(err error) {
	if err == nil {
		w.changed()
	}
}

func (w watchedState) CreateRequest(r store.PromotionRequest) (store.PromotionRequest, error) {
	r, err := w.state.CreateRequest(r)
	w.tell(err)
	return r, err
}

func (w watchedState) Approve(id uint64, approver string) (store.PromotionRequest, error) {
	r, err := w.state.Approve(id, approver)
	w.tell(err)
	return r, err
}

func (w watchedState) CloseRequest(id uint64, status, by, note string, effects ...store.Effect) (store.PromotionRequest, error) {
	r, err := w.state.CloseRequest(id, status, by, note, effects...)
	w.tell(err)
	return r, err
}

func (w watchedState) FinishPromotion(id uint64, status string, targets []store.Target, note string, effects ...store.Effect) (store.PromotionRequest, error) {
	r, err := w.state.FinishPromotion(id, status, targets, note, effects...)
	w.tell(err)
	return r, err
}

func (w watchedState) AcquireLock(l store.Lock) (store.Lock, error) {
	l, err := w.state.AcquireLock(l)
	w.tell(err)
	return l, err
}

func (w watchedState) ReleaseLock(pipeline, by string, force bool) (store.Lock, error) {
	l, err := w.state.ReleaseLock(pipeline, by, force)
	w.tell(err)
	return l, err
}

func (w watchedState) OpenIncident(inc store.Incident, text string) (store.Incident, error) {
	i, err := w.state.OpenIncident(inc, text)
	w.tell(err)
	return i, err
}

func (w watchedState) ResolveIncident(n uint64, by, resolution, text string) (store.Incident, error) {
	i, err := w.state.ResolveIncident(n, by, resolution, text)
	w.tell(err)
	return i, err
}
