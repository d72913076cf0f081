package stats

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/devy-chatops/devy/commands"
)

// Message is the /deploy stats reply: one section per key with the period,
// the period before, and each one's band.
func (r Report) Message() commands.Message {
	cur, prev := "Last "+days(r.Period), days(r.Period)+" before"
	none := fmt.Sprintf("No promotions in the last %s.", days(r.Period))
	if r.Current.Empty() && r.Previous.Empty() {
		return commands.Message{Text: none, Blocks: []commands.Block{commands.Section{Text: none}}}
	}
	blocks := []commands.Block{
		commands.Header{Text: "Delivery, last " + days(r.Period)},
		commands.Context{Texts: []string{fmt.Sprintf("%s – %s (%s), beside the %s before.",
			stamp(r.From), stamp(r.To), r.To.Location(), days(r.Period))}},
	}
	if r.Current.Promotions == 0 {
		blocks = append(blocks, commands.Section{Text: none})
	}
	key := func(title string, field func(Keys) string, band func(Keys) Band, notes ...string) {
		blocks = append(blocks, commands.Section{
			Text: "*" + title + "*",
			Fields: []string{
				fmt.Sprintf("*%s* · %s\n%s", cur, band(r.Current), field(r.Current)),
				fmt.Sprintf("*%s* · %s\n%s", prev, band(r.Previous), field(r.Previous)),
			},
		})
		var said []string
		for _, n := range notes {
			if n != "" {
				said = append(said, n)
			}
		}
		if len(said) > 0 {
			blocks = append(blocks, commands.Context{Texts: said})
		}
	}
	key("Deployment frequency", frequencyText, func(k Keys) Band { return k.Frequency })
	key("Lead time for changes", leadText, func(k Keys) Band { return k.Lead.Band }, leadNote(r.Current))
	key("Change-failure rate", failureText, func(k Keys) Band { return k.ChangeFailure },
		fmt.Sprintf("A promotion counts as a change failure when an incident or a critical alert follows it within %s.", duration(r.SuspectWindow)))
	key("Time to restore", restoreText, func(k Keys) Band { return k.Restore }, openNote(r.Current))
	blocks = append(blocks, commands.Context{Texts: []string{"Bands from DORA's 2023 Accelerate State of DevOps Report."}})
	return commands.Message{Text: summary(r), Blocks: blocks}
}

// summary is the notification text: the current period in one line.
func summary(r Report) string {
	k := r.Current
	parts := []string{plural(k.Promotions, "promotion", "promotions")}
	if k.Lead.Commits > 0 {
		parts = append(parts, "median lead time "+duration(k.Lead.Median))
	}
	if k.Promotions > 0 {
		parts = append(parts, "change-failure rate "+percent(k.Failures, k.Promotions))
	}
	if k.Restored > 0 {
		parts = append(parts, "median time to restore "+duration(k.RestoreTime))
	}
	return fmt.Sprintf("Delivery, last %s: %s.", days(r.Period), strings.Join(parts, ", "))
}

func frequencyText(k Keys) string {
	if k.Promotions == 0 {
		return "no promotions"
	}
	rate := rate(float64(k.Promotions)*7/float64(k.Days)) + " a week"
	if k.Promotions >= k.Days {
		rate = rate2(k.PerDay()) + " a day"
	}
	return fmt.Sprintf("%s (%s)", plural(k.Promotions, "promotion", "promotions"), rate)
}

func leadText(k Keys) string {
	switch {
	case k.Promotions == 0:
		return "no promotions"
	case k.Lead.WithData == 0:
		return "no commit data"
	case k.Lead.Commits == 0:
		return "no new commits shipped"
	}
	return fmt.Sprintf("median %s, p90 %s\nover %s", duration(k.Lead.Median), duration(k.Lead.P90), plural(k.Lead.Commits, "commit", "commits"))
}

// leadNote says which promotions the lead time leaves out, and why.
func leadNote(k Keys) string {
	switch {
	case k.Lead.Without == 0:
		return ""
	case k.Lead.WithData == 0:
		return fmt.Sprintf("No lead time for these %s: they predate commit data.", plural(k.Promotions, "promotion", "promotions"))
	}
	return fmt.Sprintf("Lead time from %d of %d promotions; older ones predate commit data.", k.Lead.WithData, k.Promotions)
}

func failureText(k Keys) string {
	if k.Promotions == 0 {
		return "no promotions"
	}
	return fmt.Sprintf("%s — %d of %s", percent(k.Failures, k.Promotions), k.Failures, plural(k.Promotions, "promotion", "promotions"))
}

func restoreText(k Keys) string {
	if k.Restored == 0 {
		return "no incidents resolved"
	}
	return fmt.Sprintf("median %s\nover %s", duration(k.RestoreTime), plural(k.Restored, "resolved incident", "resolved incidents"))
}

func openNote(k Keys) string {
	if k.OpenAtEnd == 0 {
		return ""
	}
	return fmt.Sprintf("%s still open, not counted until resolved.", plural(k.OpenAtEnd, "incident", "incidents"))
}

func days(p Period) string { return plural(int(p), "day", "days") }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// percent is part of whole with at most one decimal: 1 of 3 is 33.3%.
func percent(part, whole int) string {
	return rate(float64(part)*100/float64(whole)) + "%"
}

// rate prints a figure with one decimal, without a trailing ".0".
func rate(x float64) string {
	return strings.TrimSuffix(strconv.FormatFloat(x, 'f', 1, 64), ".0")
}

// rate2 prints a daily rate, where the second decimal still matters.
func rate2(x float64) string {
	s := strconv.FormatFloat(x, 'f', 2, 64)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// duration prints a span in its two largest units, to the minute: 2d 4h,
// 5h 10m, 12m.
func duration(d time.Duration) string {
	d = d.Round(time.Minute)
	if d < time.Minute {
		return "under a minute"
	}
	dd, h, m := int(d/day), int(d%day/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case dd > 0 && h > 0:
		return fmt.Sprintf("%dd %dh", dd, h)
	case dd > 0:
		return fmt.Sprintf("%dd", dd)
	case h > 0 && m > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	case h > 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dm", m)
}

func stamp(t time.Time) string { return t.Format("2 Jan 15:04") }
