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

// UnconfiguredDeploy stands in for /deploy when Heroku is not configured.
func UnconfiguredDeploy() Command {
	h := func(ctx context.Context, req Request, args []string) (Reply, error) {
		return Reply{}, Userf("Heroku is not configured for this Devy; an admin needs to set HEROKU_API_TOKEN and HEROKU_PIPELINE.")
	}
	return Command{Name: "deploy", Summary: "promote staging to production through a reviewed diff", Default: h,
		Subs: []Sub{{"status", "", "staging and production side by side", h}, {"promote", "", "ask for a reviewed promotion", h}}}
}
