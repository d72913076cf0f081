// Command floor is the library floor of Devy's benchmark: a bare slack-go
// socketmode loop that acknowledges every envelope and does nothing else, so
// the driver can tell what slack-go itself costs from what Devy adds.
//
// With FLOOR_REPLY=1 it also answers every slash command and button click
// at once with a fixed line through its response_url, the way the smallest bot that
// answers would: the floor of acknowledging while answering, which is the
// work Devy's acknowledgements share the cores with.
//
// It reads SLACK_APP_TOKEN, SLACK_BOT_TOKEN and SLACK_API_URL (ending in /api/).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	api := slack.New(os.Getenv("SLACK_BOT_TOKEN"),
		slack.OptionAppLevelToken(os.Getenv("SLACK_APP_TOKEN")),
		slack.OptionAPIURL(os.Getenv("SLACK_API_URL")))
	sm := socketmode.New(api)
	reply := os.Getenv("FLOOR_REPLY") == "1"
	errc := make(chan error, 1)
	go func() { errc <- sm.RunContext(ctx) }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			return err
		case evt := <-sm.Events:
			// Everything that carries an envelope is acknowledged, at once.
			if evt.Request != nil && evt.Request.EnvelopeID != "" {
				if err := sm.Ack(*evt.Request); err != nil {
					fmt.Fprintln(os.Stderr, "floor: ack:", err)
				}
			}
			if !reply {
				continue
			}
			var channel, responseURL string
			switch d := evt.Data.(type) {
			case slack.SlashCommand:
				channel, responseURL = d.ChannelID, d.ResponseURL
			case slack.InteractionCallback:
				channel, responseURL = d.Channel.ID, d.ResponseURL
			}
			if responseURL != "" {
				go func() {
					if _, _, err := api.PostMessageContext(ctx, channel, slack.MsgOptionText("Got it.", false),
						slack.MsgOptionResponseURL(responseURL, slack.ResponseTypeEphemeral)); err != nil {
						fmt.Fprintln(os.Stderr, "floor: reply:", err)
					}
				}()
			}
		}
	}
}
