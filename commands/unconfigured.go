package commands

import "context"

// UnconfiguredDeploy stands in for /deploy when Heroku is not configured.
func UnconfiguredDeploy() Command {
	h := func(ctx context.Context, req Request, args []string) (Reply, error) {
		return Reply{}, Userf("Heroku is not configured for this Devy; an admin needs to set HEROKU_API_TOKEN and HEROKU_PIPELINE.")
	}
	return Command{Name: "deploy", Summary: "promote staging to production through a reviewed diff", Default: h,
		Subs: []Sub{{"status", "", "staging and production side by side", h}, {"promote", "", "ask for a reviewed promotion", h}}}
}
