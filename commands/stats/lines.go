package stats

import (
	"fmt"
	"strings"
)

// KeyLines is the current period's four keys, one mrkdwn line each with
// its band, in the words of /deploy stats: for the App Home.
func (r Report) KeyLines() []string {
	k := r.Current
	line := func(title, text string, b Band) string {
		return fmt.Sprintf("• *%s*: %s (%s)", title, strings.ReplaceAll(text, "\n", " "), b)
	}
	return []string{
		line("Deployment frequency", frequencyText(k), k.Frequency),
		line("Lead time for changes", leadText(k), k.Lead.Band),
		line("Change-failure rate", failureText(k), k.ChangeFailure),
		line("Time to restore", restoreText(k), k.Restore),
	}
}
