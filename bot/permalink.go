package bot

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"
)

// Permalink is the link to message ts in channel (chat.getPermalink): what
// GitHub's deployment statuses point to.
func (s *Slack) Permalink(ctx context.Context, channel, ts string) (string, error) {
	link, err := s.api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: channel, Ts: ts})
	if err != nil {
		return "", fmt.Errorf("link message %s in %s: %w", ts, channel, err)
	}
	return link, nil
}
