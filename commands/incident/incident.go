package incident

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/integrations/apierr"
	"github.com/devy-chatops/devy/integrations/github"
	"github.com/devy-chatops/devy/store"
)

// Store is the state /incident keeps.
type Store interface {
	Now() time.Time
	OpenIncident(inc store.Incident, text string) (store.Incident, error)
	SetIncidentChannel(n uint64, channelID, name string) (store.Incident, error)
	Incident(n uint64) (store.Incident, error)
	IncidentByChannel(channelID string) (store.Incident, error)
	Incidents() ([]store.Incident, error)
	Timeline(n uint64) ([]store.TimelineEntry, error)
	AddTimelineEntry(n uint64, e store.TimelineEntry) (store.Incident, bool, error)
	SetIncidentSeverity(n uint64, severity, by string, text func(was store.Incident) string) (store.Incident, error)
	SetIncidentCommander(n uint64, commander, by string, text func(was store.Incident) string) (store.Incident, error)
	ResolveIncident(n uint64, by, resolution, text string) (store.Incident, error)
	SavePostmortem(n uint64, pm store.Postmortem) (store.Incident, error)
	ClaimPostmortem(n uint64, by string, stale time.Duration) (store.Incident, error)
	MarkNudged(n uint64, kind string, at time.Time, due func(store.Incident) bool) (store.Incident, error)
	AuditLog(limit int, actions ...string) ([]store.AuditEntry, error)
}

// IssueFiler files GitHub issues (postmortems and their action items).
type IssueFiler interface {
	CreateIssue(ctx context.Context, title, body string, labels []string) (github.Issue, error)
}

// Config is how the incident desk behaves.
type Config struct {
	// CriticalChannel is where incidents are announced, as chat.postMessage
	// takes it: "#critical" or a channel id.
	CriticalChannel string
	// QuietAfter is how long an open incident may go without a timeline
	// entry before its commander is reminded (default 30 minutes).
	QuietAfter time.Duration
	// PostmortemAfter is how long after resolution a missing postmortem is
	// asked for (default 2 days).
	PostmortemAfter time.Duration
	// RepeatWindow is how far back a similar title counts as a possible
	// repeat (default 90 days).
	RepeatWindow time.Duration
	// PromotionWindow is how far back production promotions are listed when
	// an incident opens (default 24 hours).
	PromotionWindow time.Duration
	// NudgeEvery is how often reminders are looked for (default 1 minute).
	NudgeEvery time.Duration
}

// Deps is what Desk is built from. Issues may be nil: the
// postmortem is then posted as Markdown in the incident's channel.
type Deps struct {
	Config    Config
	Store     Store
	Poster    commands.Poster
	Directory commands.Directory
	Modals    commands.Modals
	Channels  commands.Channels
	Issues    IssueFiler
	// Exceptions lists the exceptions new since the last promotion for
	// the briefing; nil leaves them out (no Sentry).
	Exceptions Exceptions
	Log        zerolog.Logger
}

// Desk implements /incident, its forms, the :pushpin: reaction and the
// reminders.
type Desk struct {
	cfg      Config
	store    Store
	poster   commands.Poster
	dir      commands.Directory
	modals   commands.Modals
	channels commands.Channels
	issues   IssueFiler
	excepts  Exceptions
	log      zerolog.Logger
}

// Callback and action ids of the incident forms and buttons.
const (
	ViewIncidentOpen       = "incident.open"
	ViewIncidentPostmortem = "incident.postmortem"
	ActionPostmortem       = "incident.postmortem"
)

// Severities, most severe first.
var severities = []commands.Option{
	{Value: "SEV1", Text: "SEV1 — critical: customers can't use the product"},
	{Value: "SEV2", Text: "SEV2 — major: a key feature is broken or degraded"},
	{Value: "SEV3", Text: "SEV3 — minor: limited impact, a workaround exists"},
}

const defaultSeverity = "SEV2"

// noBlame is the team's culture, shown where the incident is worked on.
const noBlame = "🤝 *No blame here.* Attack the problem, not the person: say what you see and what you try. " +
	"We patch forward rather than revert, and find the root cause with 5 Whys afterwards."

// New builds /incident.
func New(d Deps) *Desk {
	c := d.Config
	if c.CriticalChannel == "" {
		c.CriticalChannel = "#critical"
	}
	if c.QuietAfter <= 0 {
		c.QuietAfter = 30 * time.Minute
	}
	if c.PostmortemAfter <= 0 {
		c.PostmortemAfter = 48 * time.Hour
	}
	if c.RepeatWindow <= 0 {
		c.RepeatWindow = 90 * 24 * time.Hour
	}
	if c.PromotionWindow <= 0 {
		c.PromotionWindow = 24 * time.Hour
	}
	if c.NudgeEvery <= 0 {
		c.NudgeEvery = time.Minute
	}
	return &Desk{cfg: c, store: d.Store, poster: d.Poster, dir: d.Directory, modals: d.Modals, channels: d.Channels,
		issues: d.Issues, excepts: d.Exceptions, log: d.Log.With().Str("cmd", "incident").Logger()}
}

// Register adds /incident, its forms, its button and the :pushpin: reaction
// to r.
func (i *Desk) Register(r *commands.Router) {
	r.Add(commands.Command{
		Name:    "incident",
		Summary: "open and run an incident, then write its blameless postmortem",
		Subs: []commands.Sub{
			{Name: "open", Args: "[title] [--sev1|--sev2|--sev3]", Help: "open an incident with its own channel (without a title: a form)", Handler: i.open},
			{Name: "update", Args: "[N] <text>", Help: "add a timeline entry, echoed to " + i.criticalRef(), Handler: i.update},
			{Name: "severity", Args: "[N] SEV1..SEV3", Help: "change the severity", Handler: i.severity},
			{Name: "commander", Args: "[N] @user", Help: "hand over command", Handler: i.commander},
			{Name: "resolve", Args: "[N] [summary]", Help: "mark it resolved", Handler: i.resolve},
			{Name: "postmortem", Args: "[N]", Help: "write the blameless postmortem with 5 Whys", Handler: i.postmortem},
			{Name: "list", Args: "", Help: "open incidents first, then recent ones", Handler: i.list},
			{Name: "show", Args: "[N]", Help: "one incident with its timeline", Handler: i.show},
		},
	})
	r.OnView(ViewIncidentOpen, commands.ViewHandler{Validate: validateOpenForm, Submit: i.submitOpen})
	r.OnView(ViewIncidentPostmortem, commands.ViewHandler{Validate: validatePostmortemForm, Submit: i.submitPostmortem})
	r.OnAction(ActionPostmortem, i.postmortemButton)
	r.OnReaction(i.react)
}

// criticalRef is the critical channel as people read it in messages.
func (i *Desk) criticalRef() string { return format.Channel(i.cfg.CriticalChannel) }

// channelRef links an incident's channel, or names its number when it has
// none (its creation failed).
func channelRef(inc store.Incident) string {
	if inc.Channel == "" {
		return "incident #" + strconv.FormatUint(inc.Number, 10)
	}
	return format.Channel(inc.Channel) // in the shell, ids are names
}

// --- open ---------------------------------------------------------------

// parseOpen splits `/incident open` words into the severity flag and the
// title. Only words that look like a severity flag are flags: titles hold
// dashes of their own ("Checkout — 500s", "git push --force broke prod").
func parseOpen(args []string) (severity, title string, err error) {
	severity = defaultSeverity
	var words []string
	for _, a := range args {
		// Slack turns -- into an em or en dash on some clients.
		flag := strings.TrimLeft(a, "-—–")
		if flag != a && len(flag) >= 3 && strings.EqualFold(flag[:3], "sev") {
			sev, ok := parseSeverity(flag)
			if !ok {
				return "", "", commands.Userf("I don't know the severity `%s`; use `--sev1`, `--sev2` or `--sev3`, as in `/incident open checkout is down --sev1`.", a)
			}
			severity = sev
			continue
		}
		words = append(words, a)
	}
	return severity, strings.Join(words, " "), nil
}

func parseSeverity(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	for _, o := range severities {
		if s == o.Value {
			return s, true
		}
	}
	return "", false
}

const maxTitle = 150

func (i *Desk) open(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
	sev, title, err := parseOpen(args)
	if err != nil {
		return commands.Reply{}, err
	}
	if title == "" {
		if req.TriggerID == "" && req.Source == commands.Mention {
			return commands.Reply{}, commands.Userf("Give the incident a title: `@Devy incident open checkout is down`, or type `/incident open` for the form.")
		}
		form := openForm(req.ChannelID, sev)
		form.ResponseURL = req.ResponseURL
		if err := i.modals.OpenModal(ctx, req.TriggerID, form); err != nil {
			return commands.Reply{}, fmt.Errorf("open the incident form: %w", err)
		}
		return commands.Reply{}, nil
	}
	summary := ""
	if plain := plainText(title); len([]rune(plain)) > maxTitle {
		// A long title is still the opener's words: the incident is named
		// by its start and the whole of it becomes the summary.
		summary, title = title, format.Clip(plain, maxTitle)
	}
	return i.openIncident(ctx, req.UserID, req.ChannelID, title, sev, summary)
}

func openForm(channel, sev string) commands.Modal {
	return commands.Modal{
		CallbackID: ViewIncidentOpen, Title: "Open an incident", Submit: "Open", Channel: channel,
		Inputs: []commands.Input{
			{ID: "title", Label: "Title", Hint: "What is broken, in a few words: it names the incident's channel.", Kind: commands.InputText},
			{ID: "severity", Label: "Severity", Kind: commands.InputSelect, Options: severities, Initial: sev},
			{ID: "summary", Label: "Summary", Hint: "What you know so far.", Kind: commands.InputMultiline, Optional: true},
		},
	}
}

func validateOpenForm(v commands.View) map[string]string {
	errs := map[string]string{}
	title := strings.TrimSpace(v.Value("title"))
	switch {
	case title == "":
		errs["title"] = "Give the incident a title."
	case len([]rune(title)) > maxTitle:
		errs["title"] = fmt.Sprintf("Keep the title under %d characters; the summary takes the details.", maxTitle)
	}
	if _, ok := parseSeverity(v.Value("severity")); !ok {
		errs["severity"] = "Pick a severity: SEV1, SEV2 or SEV3."
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func (i *Desk) submitOpen(ctx context.Context, v commands.View) (commands.Reply, error) {
	sev, ok := parseSeverity(v.Value("severity"))
	if !ok {
		sev = defaultSeverity
	}
	// Form values arrive as typed; what Devy stores is Slack text.
	title := format.Escape(strings.Join(strings.Fields(v.Value("title")), " "))
	return i.openIncident(ctx, v.UserID, v.Channel, title, sev, format.Escape(strings.TrimSpace(v.Value("summary"))))
}

// openIncident records the incident, makes its channel, invites the opener,
// briefs the channel and announces it. Once the incident is recorded every
// later failure is reported but does not undo it: an incident with no
// channel is still worked on by number.
func (i *Desk) openIncident(ctx context.Context, user, from, title, sev, summary string) (commands.Reply, error) {
	inc, problems, err := i.openWith(ctx, opening{user: user, from: from, title: title, severity: sev, summary: summary})
	if err != nil {
		return commands.Reply{}, err
	}
	text := fmt.Sprintf("Opened incident #%d (%s) in %s; you are its commander.", inc.Number, inc.Severity, channelRef(inc))
	if len(problems) > 0 {
		text += " " + strings.Join(problems, " ")
	}
	return commands.Say("%s", text), nil
}

// opening is an incident about to be opened: by a person (/incident open)
// or from an alert's button (alert set).
type opening struct {
	user, from, title, severity, summary string
	alert                                *Alert
}

// openWith opens the incident and returns it with what went wrong after it
// was recorded, as sentences for the opener.
func (i *Desk) openWith(ctx context.Context, o opening) (store.Incident, []string, error) {
	all, err := i.store.Incidents()
	if err != nil {
		return store.Incident{}, nil, err
	}
	now := i.store.Now()
	repeat, hasRepeat := similarIncident(all, o.title, now.Add(-i.cfg.RepeatWindow))

	user := o.user
	rec := store.Incident{Title: o.title, Severity: o.severity, Summary: o.summary, Commander: user, OpenedBy: user, OpenedIn: o.from}
	if o.alert != nil {
		rec.SuspectPromotion = o.alert.SuspectPromotion
	}
	inc, err := i.store.OpenIncident(rec, o.severity+" opened by <@"+user+">: "+o.title)
	if err != nil {
		return store.Incident{}, nil, fmt.Errorf("record the incident: %w", err)
	}
	i.log.Info().Uint64("incident", inc.Number).Str("severity", o.severity).Str("by", user).Msg("incident opened")
	if o.alert != nil {
		i.recordAlert(inc.Number, *o.alert)
	}
	extra := i.exceptionsSection(ctx)
	if o.alert != nil {
		extra = append([]commands.Block{commands.Section{Text: alertSection(*o.alert)}}, extra...)
	}

	var problems []string
	id, name, err := i.createChannel(ctx, inc)
	if err != nil {
		i.log.Error().Err(err).Uint64("incident", inc.Number).Msg("creating the incident channel failed")
		problems = append(problems, fmt.Sprintf("I couldn't create its channel (%s), so use its number: `/incident update %d <text>`.", reason(err), inc.Number))
	} else {
		if inc, err = i.store.SetIncidentChannel(inc.Number, id, name); err != nil {
			return store.Incident{}, nil, fmt.Errorf("record the incident channel: %w", err)
		}
		if err := i.channels.Invite(ctx, id, user); err != nil {
			i.log.Warn().Err(err).Uint64("incident", inc.Number).Msg("inviting the opener failed")
			problems = append(problems, fmt.Sprintf("I couldn't invite you to %s; join it yourself.", channelRef(inc)))
		}
		if _, err := i.poster.Post(ctx, id, "", i.briefing(inc, repeat, hasRepeat, extra...)); err != nil {
			i.log.Warn().Err(err).Uint64("incident", inc.Number).Msg("posting the briefing failed")
		}
	}

	announce := fmt.Sprintf("🚨 *%s incident #%d* opened by <@%s>: %s — join %s", inc.Severity, inc.Number, user, inc.Title, channelRef(inc))
	if hasRepeat {
		announce += "\n🔁 " + repeatLine(repeat)
	}
	if err := i.postCritical(ctx, announce); err != nil {
		problems = append(problems, fmt.Sprintf("I couldn't announce it in %s (%s); tell the team there.", i.criticalRef(), reason(err)))
	}
	return inc, problems, nil
}

// createChannel makes the incident's channel, adding a suffix while the
// name is taken.
func (i *Desk) createChannel(ctx context.Context, inc store.Incident) (id, name string, err error) {
	for attempt := 0; attempt < 10; attempt++ {
		name = incidentChannelName(inc.Number, inc.Title, attempt)
		id, err = i.channels.CreateChannel(ctx, name)
		if !errors.Is(err, commands.ErrNameTaken) {
			return id, name, err
		}
	}
	return "", "", fmt.Errorf("channel names %s… are all taken: %w", incidentChannelName(inc.Number, inc.Title, 0), err)
}

// reason is a failure as a short clause for a reply: services' errors say
// who answered what; Slack's say their error code.
func reason(err error) string {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return format.Failure(err)
	}
	msg := err.Error()
	if j := strings.LastIndex(msg, ": "); j >= 0 {
		msg = msg[j+2:]
	}
	return msg
}

func (i *Desk) postCritical(ctx context.Context, text string) error {
	if _, err := i.poster.Post(ctx, i.cfg.CriticalChannel, "", commands.Message{Text: text}); err != nil {
		i.log.Warn().Err(err).Str("channel", i.cfg.CriticalChannel).Msg("posting to the critical channel failed")
		return err
	}
	return nil
}

// postIncident posts in the incident's channel; incidents without one
// (their channel could not be made) speak in the critical channel.
func (i *Desk) postIncident(ctx context.Context, inc store.Incident, m commands.Message) {
	ch := inc.Channel
	if ch == "" {
		ch = i.cfg.CriticalChannel
	}
	if _, err := i.poster.Post(ctx, ch, "", m); err != nil {
		i.log.Warn().Err(err).Uint64("incident", inc.Number).Msg("posting in the incident channel failed")
	}
}

func repeatLine(prev store.Incident) string {
	state := "still open"
	if !prev.Open() {
		state = "resolved " + format.Stamp(prev.ResolvedAt)
	}
	return fmt.Sprintf("Possibly a repeat of #%d “%s” (opened %s, %s; %s).", prev.Number, prev.Title, format.Stamp(prev.OpenedAt), state, channelRef(prev))
}

// briefing is the first message of the incident channel: what, who, the
// culture, the usual suspects and the commands.
func (i *Desk) briefing(inc store.Incident, repeat store.Incident, hasRepeat bool, extra ...commands.Block) commands.Message {
	summary := inc.Summary
	if summary == "" {
		summary = "No summary yet: post what you know with `/incident update <text>`."
	}
	blocks := []commands.Block{
		commands.Header{Text: fmt.Sprintf("🚨 Incident #%d: %s", inc.Number, plainText(inc.Title))},
		commands.Section{Fields: []string{
			"*Severity*\n" + inc.Severity,
			"*Commander*\n<@" + inc.Commander + ">",
			"*Opened*\n" + format.Stamp(inc.OpenedAt) + " by <@" + inc.OpenedBy + ">",
			"*Status*\nopen",
		}},
		commands.Section{Text: "*Summary*\n" + summary},
		commands.Section{Text: noBlame},
		commands.Section{Text: i.recentPromotions(inc.OpenedAt)},
	}
	blocks = append(blocks, extra...)
	if hasRepeat {
		blocks = append(blocks, commands.Section{Text: "🔁 " + repeatLine(repeat)})
	}
	blocks = append(blocks, commands.Context{Texts: []string{
		"`/incident update <text>` adds to the timeline (echoed to " + i.criticalRef() + ") · `/incident severity SEV1` · " +
			"`/incident commander @someone` · `/incident resolve [summary]` · react with :pushpin: to put a message on the timeline · " +
			"`/incident show` the timeline · `/incident list` every incident · `/incident postmortem` once it is over",
	}})
	return commands.Message{Text: fmt.Sprintf("Incident #%d (%s): %s", inc.Number, inc.Severity, inc.Title), Blocks: blocks}
}

// recentPromotions lists the production promotions that finished in the
// window before now: the usual suspects.
func (i *Desk) recentPromotions(now time.Time) string {
	entries, err := i.store.AuditLog(50, "promotion.finished")
	if err != nil {
		i.log.Warn().Err(err).Msg("reading recent promotions failed")
		return "*Production promotions of the last 24 hours*\nI couldn't read them; `/deploy history` lists them."
	}
	since := now.Add(-i.cfg.PromotionWindow)
	var lines []string
	for _, e := range entries {
		if e.At.Before(since) {
			continue
		}
		lines = append(lines, promotionLine(e))
	}
	head := fmt.Sprintf("*Production promotions of the last %s* (the usual suspects)", windowWords(i.cfg.PromotionWindow))
	if len(lines) == 0 {
		return head + "\nNone."
	}
	return head + "\n" + strings.Join(lines, "\n")
}

func windowWords(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return d.String()
}

func promotionLine(e store.AuditEntry) string {
	x := e.Detail
	rng := "`" + format.Short(x["base_sha"]) + "…" + format.Short(x["sha"]) + "`"
	if x["compare_url"] != "" {
		rng = fmt.Sprintf("<%s|%s…%s>", x["compare_url"], format.Short(x["base_sha"]), format.Short(x["sha"]))
	}
	icon := map[string]string{store.StatusSucceeded: "✅", store.StatusFailed: "❌", store.StatusUnknown: "⚠️"}[x["outcome"]]
	return fmt.Sprintf("• %s %s — %s v%s %s, requested by <@%s>, approved by <@%s> (%s)",
		icon, format.Stamp(e.At), x["staging_app"], x["release"], rng, x["requested_by"], x["approved_by"], x["outcome"])
}

// --- finding the incident a command is about ----------------------------

// parseIncidentNumber reads "42" or "#42".
func parseIncidentNumber(s string) (uint64, bool) {
	n, err := strconv.ParseUint(strings.TrimPrefix(s, "#"), 10, 64)
	return n, err == nil && n > 0
}

// target finds the incident a command is about and how many of args named
// it. Inside an incident's channel it is that incident, unless a leading
// number names another; elsewhere the first word must be its number. Only
// update and resolve take free text, where "2 pods restarted" is text: in
// the channel they read a leading number as an incident's only when it is
// "#N" or the channel's own. example is the command's usage with a number,
// for the error.
func (i *Desk) target(req commands.Request, args []string, sub, example string) (store.Incident, int, error) {
	here, err := i.store.IncidentByChannel(req.ChannelID)
	inChannel := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return here, 0, err
	}
	freeText := sub == "update" || sub == "resolve"
	if len(args) > 0 {
		if n, ok := parseIncidentNumber(args[0]); ok && (!inChannel || !freeText || strings.HasPrefix(args[0], "#") || n == here.Number) {
			inc, err := i.store.Incident(n)
			if errors.Is(err, store.ErrNotFound) {
				return inc, 0, commands.Userf("There is no incident #%d; `/incident list` shows them.", n)
			}
			return inc, 1, err
		}
	}
	if inChannel {
		return here, 0, nil
	}
	if len(args) > 0 && sub == "show" {
		return store.Incident{}, 0, commands.Userf("“%s” is not an incident number; type `/incident show 42`.", args[0])
	}
	return store.Incident{}, 0, commands.Userf("This is not an incident channel, so say which incident: `/incident %s`.", example)
}

// rest is the text of req after its first skip words, with its line breaks
// kept (strings.Fields would lose them).
func rest(text string, skip int) string {
	s := strings.TrimSpace(text)
	for ; skip > 0 && s != ""; skip-- {
		j := strings.IndexAny(s, " \t\n")
		if j < 0 {
			return ""
		}
		s = strings.TrimSpace(s[j:])
	}
	return s
}

func resolvedError(inc store.Incident, what string) error {
	return commands.Userf("Incident #%d was resolved by <@%s> at %s, so it can't %s; `/incident open` starts a new one.", inc.Number, inc.ResolvedBy, format.Stamp(inc.ResolvedAt), what)
}

// done answers a change: in the incident's channel the posted message says
// it all; elsewhere the asker is told where it went.
func (i *Desk) done(req commands.Request, inc store.Incident, what string) commands.Reply {
	if req.ChannelID == inc.Channel && inc.Channel != "" {
		return commands.Reply{}
	}
	return commands.Say("%s incident #%d (%s).", what, inc.Number, channelRef(inc))
}

// --- update, severity, commander, resolve --------------------------------

func (i *Desk) update(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
	inc, used, err := i.target(req, args, "update", "update 42 <text>")
	if err != nil {
		return commands.Reply{}, err
	}
	text := rest(req.Text, 1+used)
	if text == "" {
		return commands.Reply{}, commands.Userf("Say what happened: `/incident update <text>`, for example `/incident update rolled the config back`.")
	}
	if !inc.Open() {
		return commands.Reply{}, resolvedError(inc, "take updates")
	}
	inc, _, err = i.store.AddTimelineEntry(inc.Number, store.TimelineEntry{Kind: store.EntryUpdate, Actor: req.UserID, Text: text})
	if err != nil {
		return commands.Reply{}, err
	}
	i.postIncident(ctx, inc, commands.Message{Text: fmt.Sprintf("📝 <@%s>: %s", req.UserID, text)})
	if inc.Channel != "" {
		_ = i.postCritical(ctx, fmt.Sprintf("📝 Incident #%d (%s), from <@%s>: %s", inc.Number, channelRef(inc), req.UserID, text))
	}
	return i.done(req, inc, "Added your update to"), nil
}

func (i *Desk) severity(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
	inc, used, err := i.target(req, args, "severity", "severity 42 SEV1")
	if err != nil {
		return commands.Reply{}, err
	}
	words := args[used:]
	if len(words) == 0 {
		return commands.Reply{}, commands.Userf("Give the new severity: `/incident severity SEV1` (SEV1, SEV2 or SEV3).")
	}
	sev, ok := parseSeverity(words[0])
	if !ok || len(words) > 1 {
		return commands.Reply{}, commands.Userf("“%s” is not a severity; use SEV1, SEV2 or SEV3, as in `/incident severity SEV1`.", strings.Join(words, " "))
	}
	if !inc.Open() {
		return commands.Reply{}, resolvedError(inc, "change severity")
	}
	if inc.Severity == sev {
		return commands.Reply{}, commands.Userf("Incident #%d is already %s.", inc.Number, sev)
	}
	before := inc.Severity
	inc, err = i.store.SetIncidentSeverity(inc.Number, sev, req.UserID, func(was store.Incident) string {
		return fmt.Sprintf("Severity %s → %s by <@%s>", was.Severity, sev, req.UserID)
	})
	if errors.Is(err, store.ErrIncidentResolved) {
		return commands.Reply{}, resolvedError(inc, "change severity")
	}
	if err != nil {
		return commands.Reply{}, err
	}
	i.postIncident(ctx, inc, commands.Message{Text: fmt.Sprintf("⚠️ Severity is now *%s* (was %s), set by <@%s>.", sev, before, req.UserID)})
	if inc.Channel != "" {
		_ = i.postCritical(ctx, fmt.Sprintf("⚠️ Incident #%d (%s) is now %s (was %s).", inc.Number, channelRef(inc), sev, before))
	}
	return i.done(req, inc, "Changed the severity of"), nil
}

func (i *Desk) commander(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
	inc, used, err := i.target(req, args, "commander", "commander 42 @someone")
	if err != nil {
		return commands.Reply{}, err
	}
	words := args[used:]
	var user string
	ok := len(words) == 1
	if ok {
		user, ok = commands.Mentioned(words[0])
	}
	if !ok {
		return commands.Reply{}, commands.Userf("Name the new commander with a mention, as in `/incident commander @dana`.")
	}
	if !inc.Open() {
		return commands.Reply{}, resolvedError(inc, "change commander")
	}
	if inc.Commander == user {
		return commands.Reply{}, commands.Userf("<@%s> already commands incident #%d.", user, inc.Number)
	}
	inc, err = i.store.SetIncidentCommander(inc.Number, user, req.UserID, func(was store.Incident) string {
		return fmt.Sprintf("Commander <@%s> → <@%s> (by <@%s>)", was.Commander, user, req.UserID)
	})
	if errors.Is(err, store.ErrIncidentResolved) {
		return commands.Reply{}, resolvedError(inc, "change commander")
	}
	if err != nil {
		return commands.Reply{}, err
	}
	if inc.Channel != "" {
		if err := i.channels.Invite(ctx, inc.Channel, user); err != nil {
			i.log.Warn().Err(err).Uint64("incident", inc.Number).Msg("inviting the new commander failed")
		}
	}
	i.postIncident(ctx, inc, commands.Message{Text: fmt.Sprintf("🎖️ <@%s> is now the incident commander (handed over by <@%s>).", user, req.UserID)})
	return i.done(req, inc, "Handed over"), nil
}

func (i *Desk) resolve(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
	inc, used, err := i.target(req, args, "resolve", "resolve 42 [summary]")
	if err != nil {
		return commands.Reply{}, err
	}
	if !inc.Open() {
		return commands.Reply{}, commands.Userf("Incident #%d was already resolved by <@%s> at %s; `/incident postmortem %d` writes its postmortem.", inc.Number, inc.ResolvedBy, format.Stamp(inc.ResolvedAt), inc.Number)
	}
	summary := rest(req.Text, 1+used)
	entry := "Resolved by <@" + req.UserID + ">"
	if summary != "" {
		entry += ": " + summary
	}
	resolved, err := i.store.ResolveIncident(inc.Number, req.UserID, summary, entry)
	if errors.Is(err, store.ErrIncidentResolved) {
		now, _ := i.store.Incident(inc.Number)
		return commands.Reply{}, commands.Userf("Incident #%d was already resolved by <@%s> at %s.", inc.Number, now.ResolvedBy, format.Stamp(now.ResolvedAt))
	}
	if err != nil {
		return commands.Reply{}, err
	}
	inc = resolved
	took := format.Span(inc.ResolvedAt.Sub(inc.OpenedAt))
	text := fmt.Sprintf("✅ Incident #%d resolved by <@%s> after %s.", inc.Number, req.UserID, took)
	if summary != "" {
		text += " " + summary
	}
	i.postIncident(ctx, inc, commands.Message{Text: text, Blocks: []commands.Block{
		commands.Section{Text: text},
		commands.Section{Text: "Next: the blameless postmortem — what happened, its impact, 5 Whys down to the root cause, and the action items. " +
			"Press the button or type `/incident postmortem`; each action item becomes its own issue."},
		commands.Actions{ID: "incident.resolved", Buttons: []commands.Button{{ActionID: ActionPostmortem, Text: "Write the postmortem", Value: strconv.FormatUint(inc.Number, 10), Style: "primary"}}},
	}})
	if inc.Channel != "" {
		_ = i.postCritical(ctx, fmt.Sprintf("✅ Incident #%d resolved after %s: %s (%s)", inc.Number, took, inc.Title, channelRef(inc)))
	}
	return i.done(req, inc, "Resolved"), nil
}

// --- list and show -------------------------------------------------------

const maxResolvedListed = 10

func (i *Desk) list(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
	if len(args) > 0 {
		return commands.Reply{}, commands.Userf("`/incident list` takes no arguments; `/incident show 42` shows one incident.")
	}
	all, err := i.store.Incidents()
	if err != nil {
		return commands.Reply{}, err
	}
	if len(all) == 0 {
		return commands.Say("No incidents so far. `/incident open <title>` opens one."), nil
	}
	now := i.store.Now()
	var open, closed []store.Incident
	for _, inc := range all {
		if inc.Open() {
			open = append(open, inc)
		} else {
			closed = append(closed, inc)
		}
	}
	// The most severe first, then the oldest: what needs eyes most.
	sort.SliceStable(open, func(a, b int) bool {
		if open[a].Severity != open[b].Severity {
			return open[a].Severity < open[b].Severity
		}
		return open[a].OpenedAt.Before(open[b].OpenedAt)
	})
	var lines []string
	for _, inc := range open {
		lines = append(lines, fmt.Sprintf("🔴 *#%d* %s · %s · opened %s · commander <@%s> · %s", inc.Number, inc.Severity, inc.Title, format.Ago(now, inc.OpenedAt), inc.Commander, channelRef(inc)))
	}
	if len(open) == 0 {
		lines = append(lines, "No open incidents.")
	}
	if len(closed) > maxResolvedListed {
		closed = closed[:maxResolvedListed]
	}
	if len(closed) > 0 {
		lines = append(lines, "", "*Recently resolved*")
	}
	for _, inc := range closed {
		pm := "no postmortem yet"
		if p := inc.Postmortem; p != nil && p.IssueURL != "" {
			pm = fmt.Sprintf("<%s|postmortem>", p.IssueURL)
		} else if p != nil {
			pm = "postmortem written"
		}
		lines = append(lines, fmt.Sprintf("✅ *#%d* %s · %s · resolved %s after %s · %s", inc.Number, inc.Severity, inc.Title, format.Ago(now, inc.ResolvedAt), format.Span(inc.ResolvedAt.Sub(inc.OpenedAt)), pm))
	}
	blocks := []commands.Block{commands.Header{Text: "Incidents"}}
	for _, chunk := range chunkLines(lines, 2800) { // a section holds 3,000 characters
		blocks = append(blocks, commands.Section{Text: chunk})
	}
	return commands.Reply{Message: commands.Message{Text: fmt.Sprintf("%d open incident%s", len(open), format.Plural(len(open))), Blocks: blocks}, Ephemeral: true}, nil
}

func (i *Desk) show(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
	inc, used, err := i.target(req, args, "show", "show 42")
	if err != nil {
		return commands.Reply{}, err
	}
	if len(args) > used {
		return commands.Reply{}, commands.Userf("`/incident show` takes only the incident's number, as in `/incident show 42`.")
	}
	entries, err := i.store.Timeline(inc.Number)
	if err != nil {
		return commands.Reply{}, err
	}
	now := i.store.Now()
	status := "open for " + format.Span(now.Sub(inc.OpenedAt))
	if !inc.Open() {
		status = fmt.Sprintf("resolved %s after %s", format.Stamp(inc.ResolvedAt), format.Span(inc.ResolvedAt.Sub(inc.OpenedAt)))
	}
	summary := inc.Summary
	if summary == "" {
		summary = "_No summary._"
	}
	blocks := []commands.Block{
		commands.Header{Text: fmt.Sprintf("Incident #%d: %s", inc.Number, plainText(inc.Title))},
		commands.Section{Fields: []string{
			"*Severity*\n" + inc.Severity, "*Status*\n" + status,
			"*Commander*\n<@" + inc.Commander + ">", "*Channel*\n" + channelRef(inc),
		}},
		commands.Section{Text: "*Summary*\n" + summary},
	}
	if inc.Resolution != "" {
		blocks = append(blocks, commands.Section{Text: "*Resolution*\n" + inc.Resolution})
	}
	var lines []string
	for _, e := range entries {
		text := e.Text
		if e.Kind == store.EntryUpdate && e.Actor != "" {
			// An update's text is the author's words alone; who wrote it
			// is said here, as the other entries say who acted.
			text += " — by <@" + e.Actor + ">"
		}
		lines = append(lines, fmt.Sprintf("`%s` %s %s", format.Stamp(e.At), entryIcon(e.Kind), text))
	}
	chunks := chunkLines(lines, 2800)
	if len(chunks) > maxTimelineSections {
		// Slack takes at most 50 blocks a message: the newest entries are
		// what an incident's reader needs most.
		chunks = chunks[len(chunks)-maxTimelineSections:]
		chunks[0] = "_…earlier entries are not shown here; they are in the incident's channel._\n" + chunks[0]
	}
	for j, chunk := range chunks {
		head := ""
		if j == 0 {
			head = "*Timeline*\n"
		}
		blocks = append(blocks, commands.Section{Text: head + chunk})
	}
	if p := inc.Postmortem; p != nil && p.IssueURL != "" {
		blocks = append(blocks, commands.Context{Texts: []string{fmt.Sprintf("Postmortem: <%s|#%d>", p.IssueURL, p.IssueNumber)}})
	} else if !inc.Open() {
		blocks = append(blocks, commands.Context{Texts: []string{fmt.Sprintf("No postmortem filed yet: `/incident postmortem %d`.", inc.Number)}})
	}
	return commands.Reply{Message: commands.Message{Text: fmt.Sprintf("Incident #%d: %s", inc.Number, inc.Title), Blocks: blocks}, Ephemeral: true}, nil
}

// maxTimelineSections keeps `/incident show` within Slack's 50 blocks.
const maxTimelineSections = 40

func entryIcon(kind string) string {
	switch kind {
	case store.EntryOpened:
		return "🚨"
	case store.EntryUpdate:
		return "📝"
	case store.EntrySeverity:
		return "⚠️"
	case store.EntryCommander:
		return "🎖️"
	case store.EntryPromotion:
		return "🚀"
	case store.EntryPin:
		return "📌"
	case store.EntryResolved:
		return "✅"
	}
	return "•"
}

// chunkLines joins lines into pieces of at most limit characters, so a long
// timeline fits Slack's section limit.
func chunkLines(lines []string, limit int) []string {
	var out []string
	var b strings.Builder
	for _, l := range lines {
		if len(l) > limit {
			l = l[:limit-1] + "…"
		}
		if b.Len() > 0 && b.Len()+1+len(l) > limit {
			out = append(out, b.String())
			b.Reset()
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l)
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

// --- the timeline's automatic entries ------------------------------------

// react puts a message of an incident's channel on its timeline when
// someone marks it with :pushpin:.
func (i *Desk) react(ctx context.Context, r commands.Reaction) error {
	if r.Emoji != "pushpin" {
		return nil
	}
	inc, err := i.store.IncidentByChannel(r.ChannelID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	text, thread, err := i.dir.MessageText(ctx, r.ChannelID, r.MessageTS)
	if err != nil {
		return fmt.Errorf("read the pinned message of incident %d: %w", inc.Number, err)
	}
	e := store.TimelineEntry{Kind: store.EntryPin, Actor: r.UserID, Text: format.Clip(text, 500) + " (📌 <@" + r.UserID + ">)", Ref: "pin:" + r.MessageTS}
	_, added, err := i.store.AddTimelineEntry(inc.Number, e)
	if err != nil || !added {
		return err
	}
	if thread == "" {
		thread = r.MessageTS
	}
	// Slack wants replies to a reply to name the thread's parent.
	if _, err := i.poster.Post(ctx, r.ChannelID, thread, commands.Message{Text: fmt.Sprintf("📌 On the timeline of incident #%d.", inc.Number)}); err != nil {
		i.log.Warn().Err(err).Uint64("incident", inc.Number).Msg("confirming a pin failed")
	}
	return nil
}

// appNames lists the apps a promotion went to.
func appNames(targets []store.Target) string {
	names := make([]string, 0, len(targets))
	for _, t := range targets {
		names = append(names, t.AppName)
	}
	return strings.Join(names, ", ")
}

// PromotionFinished puts a production promotion that just ended on the
// timeline of every open incident: the patch-forward fix shows up by
// itself. /deploy calls it (deploy.Deps.Finished).
func (i *Desk) PromotionFinished(ctx context.Context, r store.PromotionRequest) {
	all, err := i.store.Incidents()
	if err != nil {
		i.log.Error().Err(err).Uint64("request", r.ID).Msg("reading incidents for a finished promotion failed")
		return
	}
	rng := "`" + format.Short(r.BaseSHA) + "…" + format.Short(r.SHA) + "`"
	if r.CompareURL != "" {
		rng = fmt.Sprintf("<%s|%s…%s>", r.CompareURL, format.Short(r.BaseSHA), format.Short(r.SHA))
	}
	outcome := map[string]string{
		store.StatusSucceeded: "is live on " + appNames(r.Targets),
		store.StatusFailed:    "failed",
		store.StatusUnknown:   "ended in a state Devy can't confirm",
	}[r.Status]
	if outcome == "" {
		outcome = r.Status
	}
	text := fmt.Sprintf("Promotion #%d of %s v%d %s %s (requested by <@%s>, approved by <@%s>)", r.ID, r.StagingAppName, r.ReleaseVersion, rng, outcome, r.RequestedBy, r.DecidedBy)
	for _, inc := range all {
		if !inc.Open() {
			continue
		}
		e := store.TimelineEntry{Kind: store.EntryPromotion, Actor: "devy", Text: text, Ref: "promotion:" + strconv.FormatUint(r.ID, 10)}
		inc, added, err := i.store.AddTimelineEntry(inc.Number, e)
		if err != nil {
			i.log.Error().Err(err).Uint64("incident", inc.Number).Msg("recording a promotion on the timeline failed")
			continue
		}
		if added {
			i.postIncident(ctx, inc, commands.Message{Text: "🚀 " + text + "."})
		}
	}
}
