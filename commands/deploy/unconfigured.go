package deploy

import (
	"context"

	"github.com/devy-chatops/devy/commands"
)

// Unconfigured stands in for /deploy when Heroku is not configured.
func Unconfigured() commands.Command {
	h := func(ctx context.Context, req commands.Request, args []string) (commands.Reply, error) {
		return commands.Reply{}, commands.Userf("Heroku is not configured for this Devy; an admin needs to set HEROKU_API_TOKEN and HEROKU_PIPELINE.")
	}
	return commands.Command{Name: "deploy", Summary: "promote staging to production through a reviewed diff", Default: h,
		Subs: []commands.Sub{{Name: "status", Args: "", Help: "staging and production side by side", Handler: h}, {Name: "promote", Args: "", Help: "ask for a reviewed promotion", Handler: h}}}
}
