package incident

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/store"
)

// maxActionItems bounds how many issues one form can file.
const maxActionItems = 20

// slackTextLimit keeps a posted Markdown postmortem under chat.postMessage's
// 40,000-character limit on text.
const slackTextLimit = 38000

func (i *Desk) postmortem(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
	inc, used, err := i.target(req, args, "postmortem", "postmortem 42")
	if err != nil {
		return commands.Reply{}, err
	}
	if len(args) > used {
		return commands.Reply{}, commands.Userf("`/incident postmortem` takes only the incident's number, as in `/incident postmortem 42`.")
	}
	if req.TriggerID == "" && req.Source == commands.Mention {
		return commands.Reply{}, commands.Userf("Slack opens forms only from slash commands and buttons; type `/incident postmortem %d`.", inc.Number)
	}
	return i.openPostmortem(ctx, req.TriggerID, req.ChannelID, req.ResponseURL, inc)
}

// postmortemButton is the "Write the postmortem" button posted at
// resolution. Its value is an incident number; it is checked like any input.
func (i *Desk) postmortemButton(ctx context.Context, a commands.Action) (commands.Reply, error) {
	n, ok := parseIncidentNumber(a.Value)
	if !ok {
		return commands.Reply{}, commands.Userf("That button does not point at an incident I know; `/incident list` shows them.")
	}
	inc, err := i.store.Incident(n)
	if errors.Is(err, store.ErrNotFound) {
		return commands.Reply{}, commands.Userf("There is no incident #%d; `/incident list` shows them.", n)
	}
	if err != nil {
		return commands.Reply{}, err
	}
	return i.openPostmortem(ctx, a.TriggerID, a.ChannelID, a.ResponseURL, inc)
}

func (i *Desk) openPostmortem(ctx context.Context, triggerID, channel, responseURL string, inc store.Incident) (commands.Reply, error) {
	if p := inc.Postmortem; p != nil && p.IssueURL != "" {
		return commands.Reply{}, commands.Userf("Incident #%d already has its postmortem: %s", inc.Number, p.IssueURL)
	}
	form := postmortemForm(inc, channel)
	form.ResponseURL = responseURL
	if err := i.modals.OpenModal(ctx, triggerID, form); err != nil {
		return commands.Reply{}, fmt.Errorf("open the postmortem form: %w", err)
	}
	if inc.Open() {
		return commands.Say("Incident #%d is still open; the postmortem will say so. `/incident resolve` closes it when it is over.", inc.Number), nil
	}
	return commands.Reply{}, nil
}

// postmortemForm asks the blameless questions. Answers saved by an earlier
// submission that could not reach GitHub are filled in again.
func postmortemForm(inc store.Incident, channel string) commands.Modal {
	var prev store.Postmortem
	if inc.Postmortem != nil {
		prev = *inc.Postmortem
	}
	why := func(k int) string {
		if k < len(prev.Whys) {
			return prev.Whys[k]
		}
		return ""
	}
	inputs := []commands.Input{
		{ID: "what", Label: "What happened?", Hint: "A short, blameless summary: what broke and what people saw.", Kind: commands.InputMultiline, Initial: prev.WhatHappened},
		{ID: "impact", Label: "Impact", Hint: "Who was affected, how, and for how long.", Kind: commands.InputMultiline, Initial: prev.Impact},
	}
	hints := []string{"Why did it happen?", "And why was that?", "And why was that?", "And why was that?", "And why, at the root?"}
	for k := 0; k < 5; k++ {
		inputs = append(inputs, commands.Input{ID: "why" + strconv.Itoa(k+1), Label: fmt.Sprintf("Why? (%d of 5)", k+1), Hint: hints[k],
			Kind: commands.InputText, Initial: why(k), Optional: k > 0})
	}
	inputs = append(inputs,
		commands.Input{ID: "root_cause", Label: "Root cause", Kind: commands.InputMultiline, Initial: prev.RootCause},
		commands.Input{ID: "categories", Label: "Category", Hint: "Any kind of cause can be reviewed; pick all that apply.", Kind: commands.InputMultiSelect, Options: categories},
		commands.Input{ID: "actions", Label: "Action items", Hint: "One per line; each becomes its own GitHub issue.", Kind: commands.InputMultiline, Optional: true, Initial: strings.Join(prev.ActionItems, "\n")},
		commands.Input{ID: "fix", Label: "The fix", Hint: "The patch-forward fix: a PR or a promotion.", Kind: commands.InputText, Optional: true, Initial: prev.Fix},
		commands.Input{ID: "went_well", Label: "What went well", Kind: commands.InputMultiline, Optional: true, Initial: prev.WentWell},
	)
	return commands.Modal{CallbackID: ViewIncidentPostmortem, Title: fmt.Sprintf("Postmortem #%d", inc.Number), Submit: "File it",
		Channel: channel, Metadata: strconv.FormatUint(inc.Number, 10), Inputs: inputs}
}

// actionItems are the non-empty lines of the action items field, without
// list markers people type out of habit.
func actionItems(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		l = strings.TrimSpace(strings.TrimLeft(l, "-*•"))
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(l, "[ ]"), "[]"))
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func validatePostmortemForm(v commands.View) map[string]string {
	errs := map[string]string{}
	required := []struct{ id, msg string }{
		{"what", "Say what happened."},
		{"impact", "Describe the impact."},
		{"why1", "Answer at least the first “Why?”."},
		{"root_cause", "Name the root cause."},
	}
	for _, r := range required {
		if strings.TrimSpace(v.Value(r.id)) == "" {
			errs[r.id] = r.msg
		}
	}
	cats := v.Values["categories"]
	if len(cats) == 0 {
		errs["categories"] = "Pick at least one category."
	}
	for _, c := range cats {
		known := false
		for _, o := range categories {
			known = known || o.Value == c
		}
		if !known {
			errs["categories"] = "Pick categories from the list."
		}
	}
	if n := len(actionItems(v.Value("actions"))); n > maxActionItems {
		errs["actions"] = fmt.Sprintf("That is %d action items; keep it to %d and group the rest.", n, maxActionItems)
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// filingStale is how long one person's filing of a postmortem keeps others
// from filing it: long enough for GitHub to take a dozen issues, short
// enough that a filing cut off by a restart does not block it for long.
const filingStale = 2 * time.Minute

// submitPostmortem files the postmortem: each action item as its own issue
// first, so the postmortem can link them, then the postmortem itself. When
// GitHub is not configured or fails, the Markdown is posted in the incident's
// channel instead; the answers are stored either way.
func (i *Desk) submitPostmortem(ctx context.Context, v commands.View) (commands.Reply, error) {
	n, ok := parseIncidentNumber(v.Metadata)
	if !ok {
		return commands.Reply{}, commands.Userf("That form does not point at an incident; run `/incident postmortem 42` again.")
	}
	// Two people may submit the form at once: one files, the other is told.
	inc, err := i.store.ClaimPostmortem(n, v.UserID, filingStale)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return commands.Reply{}, commands.Userf("There is no incident #%d; `/incident list` shows them.", n)
	case errors.Is(err, store.ErrPostmortemFiled):
		return commands.Reply{}, commands.Userf("Incident #%d already has its postmortem: %s", n, inc.Postmortem.IssueURL)
	case errors.Is(err, store.ErrPostmortemFiling) && inc.FilingBy == v.UserID:
		return commands.Reply{}, commands.Userf("Your postmortem of incident #%d is being filed already; it will be linked in the incident's channel in a moment.", n)
	case errors.Is(err, store.ErrPostmortemFiling):
		return commands.Reply{}, commands.Userf("<@%s> is filing incident #%d's postmortem right now, so yours was not filed; it will be linked in the incident's channel in a moment.", inc.FilingBy, n)
	case err != nil:
		return commands.Reply{}, err
	}
	pm := store.Postmortem{
		WrittenBy: v.UserID, WrittenAt: i.store.Now(),
		WhatHappened: strings.TrimSpace(v.Value("what")), Impact: strings.TrimSpace(v.Value("impact")),
		RootCause: strings.TrimSpace(v.Value("root_cause")), Categories: v.Values["categories"],
		ActionItems: actionItems(v.Value("actions")), Fix: strings.TrimSpace(v.Value("fix")), WentWell: strings.TrimSpace(v.Value("went_well")),
	}
	for k := 1; k <= 5; k++ {
		pm.Whys = append(pm.Whys, strings.TrimSpace(v.Value("why"+strconv.Itoa(k))))
	}
	if inc.Postmortem != nil {
		pm.ActionIssues = inc.Postmortem.ActionIssues
	}
	timeline, err := i.store.Timeline(n)
	if err != nil {
		return commands.Reply{}, err
	}

	var fileErr error
	if i.issues != nil {
		fileErr = i.file(ctx, inc, timeline, &pm)
	}
	inc, err = i.store.SavePostmortem(n, pm)
	if err != nil {
		return commands.Reply{}, fmt.Errorf("record the postmortem: %w", err)
	}
	if pm.IssueURL != "" {
		links := fmt.Sprintf("📝 The postmortem of incident #%d is filed: <%s|#%d %s>", n, pm.IssueURL, pm.IssueNumber, "Postmortem")
		if len(pm.ActionIssues) > 0 {
			var items []string
			for _, a := range pm.ActionIssues {
				items = append(items, fmt.Sprintf("<%s|#%d>", a.URL, a.Number))
			}
			links += fmt.Sprintf(", with %d action item%s: %s", len(items), format.Plural(len(items)), strings.Join(items, ", "))
		}
		i.postIncident(ctx, inc, commands.Message{Text: links + "."})
		if inc.Channel != "" {
			_ = i.postCritical(ctx, links+".")
		}
		return commands.Say("Filed the postmortem of incident #%d: %s", n, pm.IssueURL), nil
	}

	why := "GitHub is not configured for this Devy"
	if fileErr != nil {
		i.log.Warn().Err(fileErr).Uint64("incident", n).Msg("filing the postmortem on GitHub failed")
		why = "GitHub failed (" + format.Failure(fileErr) + ")"
	}
	doc := postmortemMarkdown(inc, timeline, pm, i.store.Now())
	if len(doc) > slackTextLimit {
		doc = doc[:slackTextLimit] + "\n…(cut to fit Slack)"
	}
	// A fence inside the document would end the code block early.
	doc = strings.ReplaceAll(doc, "```", "'''")
	i.postIncident(ctx, inc, commands.Message{Text: fmt.Sprintf("📝 Postmortem of incident #%d. %s, so here it is as Markdown; nothing is lost:\n```\n%s```", n, why, format.Escape(doc))})
	return commands.Say("%s, so I posted the postmortem of incident #%d in %s as Markdown; your answers are saved, and `/incident postmortem %d` files it once GitHub works.", why, n, channelRef(inc), n), nil
}

// file creates the action items' issues, then the postmortem's issue
// linking them, recording each in pm as it is made so that a failure half
// way loses nothing already filed.
func (i *Desk) file(ctx context.Context, inc store.Incident, timeline []store.TimelineEntry, pm *store.Postmortem) error {
	title := slackToMarkdown(inc.Title)
	// Items filed by an earlier submission that failed half way are not
	// filed twice.
	filed := map[string]store.IssueLink{}
	for _, a := range pm.ActionIssues {
		filed[a.Title] = a
	}
	pm.ActionIssues = nil
	for k, item := range pm.ActionItems {
		if a, ok := filed[item]; ok {
			pm.ActionIssues = append(pm.ActionIssues, a)
			continue
		}
		body := fmt.Sprintf("An action item from the blameless postmortem of incident #%d (%s).\n\n%s\n\n_Filed by Devy._", inc.Number, title, item)
		is, err := i.issues.CreateIssue(ctx, format.Clip(item, 120), body, []string{"postmortem-action"})
		if err != nil {
			return fmt.Errorf("file action item %d: %w", k+1, err)
		}
		pm.ActionIssues = append(pm.ActionIssues, store.IssueLink{Title: item, Number: is.Number, URL: is.URL})
	}
	doc := postmortemMarkdown(inc, timeline, *pm, i.store.Now())
	is, err := i.issues.CreateIssue(ctx, fmt.Sprintf("Postmortem: incident #%d — %s", inc.Number, format.Clip(title, 100)), doc, []string{"postmortem"})
	if err != nil {
		return fmt.Errorf("file the postmortem: %w", err)
	}
	pm.IssueNumber, pm.IssueURL = is.Number, is.URL
	return nil
}
