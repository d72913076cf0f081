// Command devy is a Slack ChatOps bot: the deploy desk and incident desk of a
// team that ships through a Heroku pipeline. main makes the context that a
// stop signal ends and runs the app (internal/app), which does the wiring.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	// The zone database inside the binary: DEVY_TIMEZONE loads on a slim
	// dyno or container that has none.
	_ "time/tzdata"

	"github.com/devy-chatops/devy/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "devy:", err)
		os.Exit(1)
	}
}
