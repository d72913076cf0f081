package commands

import "context"

// notYet answers subcommands whose product contract exists but which this
// version of Devy does not do yet, so that help can already show the whole
// command and nobody is left guessing.
func notYet(cmd, sub string) Handler {
	return func(ctx context.Context, req Request, args []string) (Reply, error) {
		return Reply{}, Userf("`/%s %s` is not available in this version of Devy yet; `/%s help` lists the commands.", cmd, sub, cmd)
	}
}

// ReviewAppCommand is /reviewapp as product.md describes it; its work arrives
// with the review-app issue.
func ReviewAppCommand() Command {
	return Command{
		Name:    "reviewapp",
		Summary: "build a Heroku review app for a pull request (also `@Devy reviewapp` in the PR's thread)",
		Subs: []Sub{
			// Names in angle brackets are shown in help only; Default routes them.
			{"<PR number>", "", "create a review app from the PR's head commit, or show the existing one", nil},
			{"<PR number> status", "", "the review app's state and URL", nil},
			{"<PR number> destroy", "", "delete the review app", nil},
			{"list", "", "open review apps with PR, branch, status, URL", notYet("reviewapp", "list")},
		},
		Default: notYet("reviewapp", "<PR number>"),
	}
}

// IncidentCommand is /incident as product.md describes it; its work arrives
// with the incident issue.
func IncidentCommand() Command {
	return Command{
		Name:    "incident",
		Summary: "open and run an incident, then write its blameless postmortem",
		Subs: []Sub{
			{"open", "[title]", "open an incident with its own channel (from #critical)", notYet("incident", "open")},
			{"update", "<text>", "add a timeline entry, echoed to #critical", notYet("incident", "update")},
			{"severity", "SEV1..SEV3", "change the severity", notYet("incident", "severity")},
			{"commander", "@user", "hand over command", notYet("incident", "commander")},
			{"resolve", "[summary]", "mark it resolved", notYet("incident", "resolve")},
			{"postmortem", "", "write the blameless postmortem with 5 Whys", notYet("incident", "postmortem")},
			{"list", "", "open incidents", notYet("incident", "list")},
			{"show", "<number>", "one incident with its timeline", notYet("incident", "show")},
		},
	}
}

// UnconfiguredDeploy stands in for /deploy when Heroku is not configured.
func UnconfiguredDeploy() Command {
	h := func(ctx context.Context, req Request, args []string) (Reply, error) {
		return Reply{}, Userf("Heroku is not configured for this Devy; an admin needs to set HEROKU_API_TOKEN and HEROKU_PIPELINE.")
	}
	return Command{Name: "deploy", Summary: "promote staging to production through a reviewed diff", Default: h,
		Subs: []Sub{{"status", "", "staging and production side by side", h}, {"promote", "", "ask for a reviewed promotion", h}}}
}
