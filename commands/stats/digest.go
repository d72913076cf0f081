package stats

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/devy-chatops/devy/commands"
)

// Schedule is when the weekly digest goes out (DEVY_DIGEST), in the team's
// time zone (DEVY_TIMEZONE).
type Schedule struct {
	Off          bool
	Weekday      time.Weekday
	Hour, Minute int
	Location     *time.Location
}

// lateLimit is how late a digest may still go out: a Devy that was down
// at the slot and comes back more than a day later skips that week rather
// than posting a stale digest in the middle of the next one.
const lateLimit = day

// ParseSchedule reads DEVY_DIGEST: a weekday and a 24-hour time ("mon
// 09:00", case-insensitive, full day names too) or "off".
func ParseSchedule(s string, loc *time.Location) (Schedule, error) {
	if loc == nil {
		loc = time.UTC
	}
	words := strings.Fields(strings.ToLower(s))
	if len(words) == 1 && words[0] == "off" {
		return Schedule{Off: true, Location: loc}, nil
	}
	bad := fmt.Errorf("DEVY_DIGEST: want a weekday and a 24-hour time such as \"mon 09:00\", or \"off\"; got %q", s)
	if len(words) != 2 {
		return Schedule{}, bad
	}
	wd, ok := weekday(words[0])
	if !ok {
		return Schedule{}, bad
	}
	hh, mm, ok := strings.Cut(words[1], ":")
	h, herr := strconv.Atoi(hh)
	m, merr := strconv.Atoi(mm)
	if !ok || herr != nil || merr != nil || len(mm) != 2 || h < 0 || h > 23 || m < 0 || m > 59 {
		return Schedule{}, bad
	}
	return Schedule{Weekday: wd, Hour: h, Minute: m, Location: loc}, nil
}

func weekday(s string) (time.Weekday, bool) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if s == name || s == name[:3] {
			return d, true
		}
	}
	return 0, false
}

// Slot is the last scheduled time at or before now. It is computed on the
// calendar in the schedule's zone, so 09:00 stays 09:00 local across a
// daylight-saving change (a time the change skips moves on by the gap).
func (s Schedule) Slot(now time.Time) time.Time {
	n := now.In(s.Location)
	y, m, d := n.Date()
	back := (int(n.Weekday()) - int(s.Weekday) + 7) % 7
	slot := time.Date(y, m, d-back, s.Hour, s.Minute, 0, 0, s.Location)
	if slot.After(n) {
		slot = time.Date(y, m, d-back-7, s.Hour, s.Minute, 0, 0, s.Location)
	}
	return slot
}

// Next is the first scheduled time after now, for sleeping until it.
func (s Schedule) Next(now time.Time) time.Time {
	y, m, d := s.Slot(now).Date()
	return time.Date(y, m, d+7, s.Hour, s.Minute, 0, 0, s.Location)
}

// Due reports the slot to post for at now, if any: once per slot (a slot
// after lastPosted, which is zero when nothing is known), and only within a
// day of it.
func (s Schedule) Due(lastPosted, now time.Time) (slot time.Time, ok bool) {
	if s.Off {
		return time.Time{}, false
	}
	slot = s.Slot(now)
	return slot, slot.After(lastPosted) && now.Sub(slot) <= lateLimit
}

// SlotKey names a slot for SlotStore, the same on every replica.
func SlotKey(slot time.Time) string { return "digest " + slot.UTC().Format(time.RFC3339) }

// SlotStore lets one replica claim a slot: TakeSlot returns true to exactly
// one caller per key, also across processes sharing the store.
type SlotStore interface {
	TakeSlot(key string) (bool, error)
}

// ActionItem is a postmortem action item not yet done.
type ActionItem struct {
	Incident uint64
	Title    string // untrusted text
	URL      string // its GitHub issue, if filed
}

// DigestSource reads what the digest shows beyond the keys.
type DigestSource interface {
	Source
	OpenActionItems(ctx context.Context) ([]ActionItem, error)
}

// DigestDeps is what the weekly digest needs.
type DigestDeps struct {
	Schedule      Schedule
	Source        DigestSource
	Poster        commands.Poster
	Slots         SlotStore
	Channel       string // DEVY_DEPLOY_CHANNEL
	SuspectWindow time.Duration
}

// Digester posts the weekly digest.
type Digester struct{ d DigestDeps }

// NewDigester builds the digest poster.
func NewDigester(d DigestDeps) *Digester { return &Digester{d: d} }

// Tick posts the digest if a slot is due and this replica claims it first.
// It is safe to call often (every minute, or at Schedule.Next): a slot is
// taken once in the store, so a later tick or another replica skips it.
// A post that fails after the claim is not retried: the slot is gone, and a
// week without a digest is better than two.
func (g *Digester) Tick(ctx context.Context, now time.Time) (bool, error) {
	slot, ok := g.d.Schedule.Due(time.Time{}, now)
	if !ok {
		return false, nil
	}
	took, err := g.d.Slots.TakeSlot(SlotKey(slot))
	if err != nil {
		return false, fmt.Errorf("digest: take slot %s: %w", SlotKey(slot), err)
	}
	if !took {
		return false, nil
	}
	loc := g.d.Schedule.Location
	h, err := Load(ctx, g.d.Source, WindowAt(Week, slot, loc))
	if err != nil {
		return false, fmt.Errorf("digest for %s: %w", SlotKey(slot), err)
	}
	items, err := g.d.Source.OpenActionItems(ctx)
	if err != nil {
		return false, fmt.Errorf("digest for %s: read action items: %w", SlotKey(slot), err)
	}
	r := Compute(h, Week, slot, loc, g.d.SuspectWindow)
	if _, err := g.d.Poster.Post(ctx, g.d.Channel, "", Digest(r, h, items)); err != nil {
		return false, fmt.Errorf("digest for %s: post in %s: %w", SlotKey(slot), g.d.Channel, err)
	}
	return true, nil
}

// listMax is how many lines a digest list shows before summing up the rest,
// which keeps each section well under Slack's 3,000 characters.
const listMax = 15

// sectionMax is Slack's limit on a section's text.
const sectionMax = 3000

// Digest is the weekly message: the four keys beside the week before, the
// week's promotions and incidents, and the open postmortem action items.
// r is a one-week report; h holds what it was computed from.
func Digest(r Report, h History, items []ActionItem) commands.Message {
	blocks := []commands.Block{
		commands.Header{Text: fmt.Sprintf("Weekly digest, %s – %s", r.From.Format("2 Jan"), r.To.Format("2 Jan"))},
	}
	line := func(title string, field func(Keys) string, band func(Keys) Band) string {
		f := func(k Keys) string { return strings.ReplaceAll(field(k), "\n", " ") }
		return fmt.Sprintf("• *%s*: %s (%s); the week before: %s (%s)", title, f(r.Current), band(r.Current), f(r.Previous), band(r.Previous))
	}
	keys := []string{
		line("Deployment frequency", frequencyText, func(k Keys) Band { return k.Frequency }),
		line("Lead time for changes", leadText, func(k Keys) Band { return k.Lead.Band }),
		line("Change-failure rate", failureText, func(k Keys) Band { return k.ChangeFailure }),
		line("Time to restore", restoreText, func(k Keys) Band { return k.Restore }),
	}
	blocks = append(blocks, commands.Section{Text: strings.Join(keys, "\n")})
	if n := leadNote(r.Current); n != "" {
		blocks = append(blocks, commands.Context{Texts: []string{n}})
	}

	var proms []Promotion
	for _, p := range h.Promotions {
		if in(p.FinishedAt, r.From, r.To) {
			proms = append(proms, p)
		}
	}
	slices.SortFunc(proms, func(a, b Promotion) int { return a.FinishedAt.Compare(b.FinishedAt) })
	var lines []string
	for _, p := range proms {
		what := ""
		if p.Release != "" {
			what = " " + escape(p.Release)
		}
		lines = append(lines, fmt.Sprintf("• #%d%s — %s %s", p.Number, what, p.Outcome, p.FinishedAt.In(r.To.Location()).Format("Mon 15:04")))
	}
	blocks = append(blocks, list("Promotions this week", lines, "No promotions this week."))

	var incs []Incident
	for _, i := range h.Incidents {
		if i.OpenedAt.Before(r.To) && (i.ResolvedAt.IsZero() || !i.ResolvedAt.Before(r.From)) {
			incs = append(incs, i)
		}
	}
	slices.SortFunc(incs, func(a, b Incident) int { return a.OpenedAt.Compare(b.OpenedAt) })
	lines = nil
	for _, i := range incs {
		state := "open since " + i.OpenedAt.In(r.To.Location()).Format("Mon 2 Jan 15:04")
		if !i.ResolvedAt.IsZero() && i.ResolvedAt.Before(r.To) {
			state = "resolved after " + duration(i.ResolvedAt.Sub(i.OpenedAt))
		}
		lines = append(lines, fmt.Sprintf("• #%d %s — %s", i.Number, escape(i.Title), state))
	}
	blocks = append(blocks, list("Incidents", lines, "No incidents this week."))

	lines = nil
	for _, a := range items {
		title := escape(a.Title)
		if a.URL != "" {
			title = "<" + a.URL + "|" + title + ">"
		}
		lines = append(lines, fmt.Sprintf("• %s (incident #%d)", title, a.Incident))
	}
	blocks = append(blocks, list("Open postmortem action items", lines, "No open action items."))
	blocks = append(blocks, commands.Context{Texts: []string{"Bands from DORA's 2023 Accelerate State of DevOps Report. `/deploy stats 30d` shows the last 30 days."}})

	text := fmt.Sprintf("Weekly digest: %s, %s.", plural(r.Current.Promotions, "promotion", "promotions"), plural(len(incs), "incident", "incidents"))
	return commands.Message{Text: text, Blocks: blocks}
}

// list is a titled section of bullet lines, cut to listMax lines and to
// Slack's section limit with a count of what was left out.
func list(title string, lines []string, none string) commands.Section {
	if len(lines) == 0 {
		return commands.Section{Text: "*" + title + "*\n" + none}
	}
	shown := lines[:min(len(lines), listMax)]
	for {
		more := ""
		if left := len(lines) - len(shown); left > 0 {
			more = fmt.Sprintf("\n…and %d more.", left)
		}
		text := fmt.Sprintf("*%s* (%d)\n%s%s", title, len(lines), strings.Join(shown, "\n"), more)
		if len(text) <= sectionMax || len(shown) == 0 {
			return commands.Section{Text: text}
		}
		shown = shown[:len(shown)-1]
	}
}
