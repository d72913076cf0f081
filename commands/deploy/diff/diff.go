// Package diff describes what a promotion ships, as the request message
// shows it: the commits, the files changed and the risks spotted in them
// and in the apps' config.
package diff

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/devy-chatops/devy/commands/deploy/pipeline"
	"github.com/devy-chatops/devy/commands/format"
	"github.com/devy-chatops/devy/integrations/github"
)

// maxCommitsShown folds long commit lists; the compare link shows the rest.
const maxCommitsShown = 15

// Commits lists cmp's commits, newest first, out of total; link draws a
// SHA and pull links a pull request. authors are the commits' GitHub
// logins, sorted.
func Commits(cmp github.Comparison, total int, link func(sha string) string, pull func(n int) string) (text string, authors []string) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d commit%s* (<%s|compare on GitHub>)", total, format.Plural(total), cmp.URL)
	seen := map[string]bool{}
	// Newest first: that is what people look for.
	for i := len(cmp.Commits) - 1; i >= 0; i-- {
		c := cmp.Commits[i]
		if c.AuthorLogin != "" && !seen[c.AuthorLogin] {
			seen[c.AuthorLogin] = true
			authors = append(authors, c.AuthorLogin)
		}
		if len(cmp.Commits)-1-i >= maxCommitsShown {
			continue
		}
		who := c.AuthorLogin
		if who == "" {
			who = c.AuthorName
		}
		msg := c.Message
		if c.PR != 0 {
			// A squash merge's title ends in "(#123)"; the link replaces it.
			msg = strings.TrimSuffix(msg, fmt.Sprintf(" (#%d)", c.PR))
		}
		line := fmt.Sprintf("\n• %s %s — %s", link(c.SHA), format.Escape(msg), format.Escape(who))
		if c.PR != 0 {
			line += fmt.Sprintf(" (<%s|#%d>)", pull(c.PR), c.PR)
		}
		b.WriteString(line)
	}
	if hidden := total - min(len(cmp.Commits), maxCommitsShown); hidden > 0 {
		fmt.Fprintf(&b, "\n…and %d more: <%s|see them all on GitHub>", hidden, cmp.URL)
	}
	sort.Strings(authors)
	return b.String(), authors
}

// Files names the files changed, the first twenty of them.
func Files(files []github.File) string {
	const shown = 20
	var names []string
	for i, f := range files {
		if i == shown {
			break
		}
		names = append(names, "`"+f.Name+"`")
	}
	s := fmt.Sprintf("*%d file%s changed*: %s", len(files), format.Plural(len(files)), strings.Join(names, ", "))
	if len(files) > shown {
		s += fmt.Sprintf(" and %d more", len(files)-shown)
	}
	return s
}

// Risks lists what tends to break a promotion: schema migrations, process
// changes, and config vars staging has but a production app lacks (a
// promotion copies the slug, not the config). vars are each app's config
// var names by app id.
func Risks(s pipeline.Snapshot, files []github.File, vars map[string][]string) []string {
	var out, migrations []string
	for _, f := range files {
		name := f.Name
		base := path.Base(name)
		switch {
		case IsMigration(name):
			migrations = append(migrations, "`"+name+"`")
		case name == "Procfile":
			out = append(out, "`Procfile` changed: process types or the release phase may differ on production.")
		case name == "app.json":
			out = append(out, "`app.json` changed: scripts, add-ons or the release phase may differ.")
		case base == "release-tasks.sh" || base == "release.sh":
			out = append(out, "`"+name+"` changed: it may run in the release phase.")
		}
	}
	if len(migrations) > 0 {
		sort.Strings(migrations)
		shown := migrations
		if len(shown) > 5 {
			shown = append(shown[:5:5], fmt.Sprintf("and %d more", len(migrations)-5))
		}
		out = append([]string{"Database migrations: " + strings.Join(shown, ", ")}, out...)
	}
	stagingVars := vars[s.Staging.App.ID]
	for _, p := range s.Production {
		have := map[string]bool{}
		for _, v := range vars[p.App.ID] {
			have[v] = true
		}
		var missing []string
		for _, v := range stagingVars {
			if !have[v] {
				missing = append(missing, "`"+v+"`")
			}
		}
		if len(missing) > 0 {
			out = append(out, fmt.Sprintf("Config vars on %s missing on *%s*: %s", s.Staging.App.Name, p.App.Name, strings.Join(missing, ", ")))
		}
	}
	return out
}

// IsMigration reports whether a changed file looks like a schema migration.
func IsMigration(name string) bool {
	lower := strings.ToLower(name)
	return strings.Contains(lower, "migrat") || strings.HasSuffix(lower, "schema.rb") || strings.HasSuffix(lower, "structure.sql") ||
		strings.HasSuffix(lower, ".sql") && strings.Contains(lower, "db/")
}
