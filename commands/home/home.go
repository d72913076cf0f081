// Package home is Devy's App Home tab: a live dashboard for whoever opens
// it — staging beside production, the lock, the pending request, open
// incidents, the viewer's review apps and the four DORA keys of the last 30
// days — with the same Request promotion button as in channels.
//
// Slack never says which tabs are open, so Home remembers who opened it in
// the last ten minutes and republishes their view when Devy's state changes,
// at most once per person every ten seconds.
//
// It reads everything through the small interfaces below, which internal/app
// wires to the deploy, incident, review-app and stats capabilities.
package home

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/format"
)

// Pipeline is staging beside production, in /deploy status's words (mrkdwn).
type Pipeline struct {
	Name       string
	Staging    string
	Production []string
	Ahead, CI  string
	Lock       string
	Pending    string // "" when nothing is pending
	CanRequest bool   // a Request promotion button makes sense
}

// Incident is an open incident.
type Incident struct {
	Number    uint64
	Title     string // untrusted text
	Severity  string
	ChannelID string // its own channel, if made
	OpenedAt  time.Time
}

// ReviewApp is one of the viewer's review apps.
type ReviewApp struct {
	PR     int
	Branch string // untrusted text
	Status string
	URL    string
}

// Deploy reads the pipeline; nil when Heroku is not configured.
type Deploy interface {
	Pipeline(ctx context.Context) (Pipeline, error)
}

// Incidents lists open incidents.
type Incidents interface {
	OpenIncidents(ctx context.Context) ([]Incident, error)
}

// ReviewApps lists the review apps a person asked for.
type ReviewApps interface {
	ReviewAppsOf(ctx context.Context, user string) ([]ReviewApp, error)
}

// Keys gives the four DORA keys of the last 30 days, one mrkdwn line each.
type Keys interface {
	Keys(ctx context.Context) ([]string, error)
}

// Publisher shows a person their Home tab (views.publish).
type Publisher interface {
	PublishHome(ctx context.Context, user string, m commands.Message) error
}

// Deps is what Home reads and where it publishes. Deploy, ReviewApps and
// Keys may be nil; their sections are then left out.
type Deps struct {
	Deploy     Deploy
	Incidents  Incidents
	ReviewApps ReviewApps
	Keys       Keys
	Publisher  Publisher
	// Usage is each command's usage, from the router's table, shown at the
	// bottom so the Home tab stays the place to learn the commands.
	Usage []string
	Bg    *commands.Background
	Log   zerolog.Logger
	Now   func() time.Time
	// Watch is how long after opening Home a person gets refreshed views
	// (10 minutes); Every is the least time between two publishes for one
	// person (10 seconds).
	Watch, Every time.Duration
}

// Home builds and refreshes the App Home.
type Home struct {
	d Deps

	mu      sync.Mutex // guards viewers
	viewers map[string]*viewer
}

// viewer is a person who opened Home recently.
type viewer struct {
	opened    time.Time // last app_home_opened
	published time.Time // last views.publish
	queued    bool      // a publish is scheduled
}

// New builds the App Home.
func New(d Deps) *Home {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Watch <= 0 {
		d.Watch = 10 * time.Minute
	}
	if d.Every <= 0 {
		d.Every = 10 * time.Second
	}
	return &Home{d: d, viewers: map[string]*viewer{}}
}

// Opened is app_home_opened: it returns user's view, for the transport to
// publish, and keeps user's tab fresh for the next Watch.
func (h *Home) Opened(ctx context.Context, user string) (commands.Message, error) {
	now := h.d.Now()
	h.mu.Lock()
	v := h.viewers[user]
	if v == nil {
		v = &viewer{}
		h.viewers[user] = v
	}
	v.opened, v.published = now, now
	h.mu.Unlock()
	return h.View(ctx, user), nil
}

// Changed says Devy's state changed (a request, a decision, a promotion's
// end, a lock, an incident): everyone who opened Home within Watch gets a
// fresh view, at once or, within Every of their last one, when Every has
// passed — several changes then make one publish.
func (h *Home) Changed() {
	if h.d.Publisher == nil || h.d.Bg == nil {
		return
	}
	now := h.d.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for user, v := range h.viewers {
		if now.Sub(v.opened) > h.d.Watch {
			delete(h.viewers, user)
			continue
		}
		if v.queued {
			continue
		}
		v.queued = true
		wait := max(v.published.Add(h.d.Every).Sub(now), 0)
		h.d.Bg.Go(func(ctx context.Context) {
			if wait > 0 {
				t := time.NewTimer(wait)
				defer t.Stop()
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
			h.publish(ctx, user)
		})
	}
}

func (h *Home) publish(ctx context.Context, user string) {
	h.mu.Lock()
	if v := h.viewers[user]; v != nil {
		v.queued, v.published = false, h.d.Now()
	}
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := h.d.Publisher.PublishHome(ctx, user, h.View(ctx, user)); err != nil && ctx.Err() == nil {
		h.d.Log.Warn().Err(err).Str("user", user).Msg("refreshing the App Home failed")
	}
}

// Slack's limits for a Home tab (api-facts 9): the view is cut to them so
// that a long list never makes views.publish fail.
const (
	maxBlocks   = 100
	maxSection  = 3000
	maxField    = 2000
	maxFields   = 10
	maxHeader   = 150
	maxListRows = 10
)

// View is user's Home tab now. A part that cannot be read says so in its
// section; the rest is shown.
func (h *Home) View(ctx context.Context, user string) commands.Message {
	blocks := []commands.Block{header("Devy — deploy desk and incident desk")}
	if h.d.Deploy != nil {
		blocks = append(blocks, h.pipeline(ctx)...)
	}
	blocks = append(blocks, commands.Divider{}, header("Open incidents"), h.incidents(ctx))
	if h.d.ReviewApps != nil {
		blocks = append(blocks, commands.Divider{}, header("Your review apps"), h.reviewApps(ctx, user))
	}
	if h.d.Keys != nil {
		blocks = append(blocks, commands.Divider{}, header("Delivery, last 30 days"), h.keys(ctx))
	}
	blocks = append(blocks, commands.Divider{}, header("Commands"),
		section("Every command also works as a mention, which is how to use Devy in a thread: `@Devy deploy status`."))
	for _, u := range h.d.Usage {
		blocks = append(blocks, section(u))
	}
	return commands.Message{Text: "Devy's Home", Blocks: blocks[:min(len(blocks), maxBlocks)]}
}

func (h *Home) pipeline(ctx context.Context) []commands.Block {
	p, err := h.d.Deploy.Pipeline(ctx)
	if err != nil {
		return []commands.Block{section(unreadable("the pipeline", err))}
	}
	prod := p.Production[:min(len(p.Production), maxFields)]
	fields := make([]string, len(prod))
	for i, f := range prod {
		fields[i] = clip(f, maxField)
	}
	facts := []string{p.Ahead, p.CI, p.Lock}
	if p.Pending != "" {
		facts = append(facts, p.Pending)
	} else {
		facts = append(facts, "No promotion pending.")
	}
	blocks := []commands.Block{
		header("Pipeline " + p.Name),
		commands.Section{Text: "*Staging*", Fields: []string{clip(p.Staging, maxField)}},
		commands.Section{Text: "*Production*", Fields: fields},
		section(strings.Join(facts, "\n")),
	}
	if p.CanRequest {
		blocks = append(blocks, commands.Actions{ID: "home.pipeline", Buttons: []commands.Button{{
			ActionID: commands.ActionRequest, Text: "Request promotion", Value: "home", Style: "primary",
		}}})
	}
	return blocks
}

func (h *Home) incidents(ctx context.Context) commands.Block {
	incs, err := h.d.Incidents.OpenIncidents(ctx)
	if err != nil {
		return section(unreadable("the incidents", err))
	}
	if len(incs) == 0 {
		return section("No open incidents.")
	}
	var lines []string
	for _, i := range incs {
		where := ""
		if i.ChannelID != "" {
			where = " in <#" + i.ChannelID + ">"
		}
		sev := ""
		if i.Severity != "" {
			sev = " (" + format.Escape(i.Severity) + ")"
		}
		lines = append(lines, fmt.Sprintf("• #%d %s%s%s, open since %s", i.Number, format.Escape(i.Title), sev, where, i.OpenedAt.UTC().Format("Mon 2 Jan 15:04 MST")))
	}
	return section(list(lines))
}

func (h *Home) reviewApps(ctx context.Context, user string) commands.Block {
	apps, err := h.d.ReviewApps.ReviewAppsOf(ctx, user)
	if err != nil {
		return section(unreadable("your review apps", err))
	}
	if len(apps) == 0 {
		return section("You have no review apps; `/reviewapp 123` makes one for pull request #123.")
	}
	var lines []string
	for _, a := range apps {
		line := fmt.Sprintf("• PR #%d `%s` — %s", a.PR, format.Escape(a.Branch), format.Escape(a.Status))
		if a.URL != "" {
			line += " — " + a.URL
		}
		lines = append(lines, line)
	}
	return section(list(lines))
}

func (h *Home) keys(ctx context.Context) commands.Block {
	lines, err := h.d.Keys.Keys(ctx)
	if err != nil {
		return section(unreadable("the delivery figures", err))
	}
	return section(strings.Join(lines, "\n"))
}

func unreadable(what string, err error) string {
	_ = err // logged by whoever failed; people see that it failed, not why
	return fmt.Sprintf("I couldn't read %s just now; open Home again in a minute.", what)
}

// maxRow is the most characters a list row shows, so that ten rows and the
// count of the rest fit a section.
const maxRow = 280

// list shows at most maxListRows lines, each clipped to maxRow, and counts
// the rest.
func list(lines []string) string {
	shown := make([]string, min(len(lines), maxListRows))
	for i := range shown {
		shown[i] = clip(lines[i], maxRow)
	}
	s := strings.Join(shown, "\n")
	if n := len(lines) - len(shown); n > 0 {
		s += fmt.Sprintf("\n…and %d more.", n)
	}
	return s
}

func header(s string) commands.Header { return commands.Header{Text: clip(s, maxHeader)} }

func section(s string) commands.Section { return commands.Section{Text: clip(s, maxSection)} }

// clip cuts s to n characters, ending with "…" when cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
