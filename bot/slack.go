package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/slack-go/slack"

	"github.com/devy-chatops/devy/commands"
)

// Slack speaks to Slack's Web API on behalf of commands: it is their Poster
// and Directory.
type Slack struct {
	api *slack.Client

	mu       sync.Mutex        // guards channels
	channels map[string]string // channel id → name; names don't change often enough to matter

	// sends bounds the messages being sent at once (see window). When a
	// slow read ends and a thousand waiting commands answer together, an
	// unbounded herd of sends starves the goroutine that acknowledges new
	// envelopes; queued sends cost nothing while they wait.
	sends window
}

// slot waits for room to send a message; release gives it back.
func (s *Slack) slot(ctx context.Context) (release func(), err error) {
	return s.sends.acquire(ctx)
}

// NewSlack wraps a Web API client.
func NewSlack(api *slack.Client) *Slack {
	return &Slack{api: api, channels: map[string]string{}}
}

// Post posts a new message, in a thread if threadTS is set.
func (s *Slack) Post(ctx context.Context, channel, threadTS string, m commands.Message) (commands.Posted, error) {
	opts := msgOptions(m)
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	release, err := s.slot(ctx)
	if err != nil {
		return commands.Posted{}, err
	}
	defer release()
	id, ts, err := s.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return commands.Posted{}, fmt.Errorf("slack: post to %s: %w", channel, err)
	}
	if id == "" {
		id = channel
	}
	return commands.Posted{Channel: id, TS: ts}, nil
}

// Update replaces a message Devy posted earlier.
func (s *Slack) Update(ctx context.Context, channel, ts string, m commands.Message) error {
	release, err := s.slot(ctx)
	if err != nil {
		return err
	}
	defer release()
	if _, _, _, err := s.api.UpdateMessageContext(ctx, channel, ts, msgOptions(m)...); err != nil {
		return fmt.Errorf("slack: update %s/%s: %w", channel, ts, err)
	}
	return nil
}

// Ephemeral shows a message to one person: through the response_url when the
// request came with one (it works even where Devy is not a member), otherwise
// with chat.postEphemeral.
func (s *Slack) Ephemeral(ctx context.Context, channel, threadTS, user, responseURL string, m commands.Message) error {
	if responseURL != "" {
		err := s.Respond(ctx, channel, threadTS, responseURL, m, slack.ResponseTypeEphemeral)
		if err == nil || channel == "" || ctx.Err() != nil {
			return err
		}
		// A response_url lasts 30 minutes and takes five answers; a form
		// can take longer than that to fill in. Try the channel instead.
		if err2 := s.postEphemeral(ctx, channel, threadTS, user, m); err2 != nil {
			return errors.Join(err, err2)
		}
		return nil
	}
	return s.postEphemeral(ctx, channel, threadTS, user, m)
}

func (s *Slack) postEphemeral(ctx context.Context, channel, threadTS, user string, m commands.Message) error {
	opts := msgOptions(m)
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	release, err := s.slot(ctx)
	if err != nil {
		return err
	}
	defer release()
	if _, err := s.api.PostEphemeralContext(ctx, channel, user, opts...); err != nil {
		return fmt.Errorf("slack: ephemeral to %s in %s: %w", user, channel, err)
	}
	return nil
}

// Respond answers through a slash command's or click's response_url, as
// responseType (ephemeral or in_channel). It never replaces the original
// message: Devy updates its messages with chat.update.
func (s *Slack) Respond(ctx context.Context, channel, threadTS, responseURL string, m commands.Message, responseType string) error {
	release, err := s.slot(ctx)
	if err != nil {
		return err
	}
	defer release()
	opts := append(msgOptions(m), slack.MsgOptionResponseURL(responseURL, responseType))
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	if _, _, err := s.api.PostMessageContext(ctx, channel, opts...); err != nil {
		return fmt.Errorf("slack: respond in %s: %w", channel, err)
	}
	return nil
}

// ChannelName looks a channel's name up once and remembers it.
func (s *Slack) ChannelName(ctx context.Context, id string) (string, error) {
	s.mu.Lock()
	name, ok := s.channels[id]
	s.mu.Unlock()
	if ok {
		return name, nil
	}
	ch, err := s.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: id})
	if err != nil {
		return "", fmt.Errorf("slack: conversations.info %s: %w", id, err)
	}
	s.mu.Lock()
	s.channels[id] = ch.Name
	s.mu.Unlock()
	return ch.Name, nil
}

// GroupMembers lists a user group's members.
func (s *Slack) GroupMembers(ctx context.Context, groupID string) ([]string, error) {
	users, err := s.api.GetUserGroupMembersContext(ctx, groupID)
	if err != nil {
		return nil, fmt.Errorf("slack: usergroups.users.list %s: %w", groupID, err)
	}
	return users, nil
}

// MessageText reads one message. conversations.replies returns the whole
// thread of any message in it, parent first, so the exact ts is looked for.
func (s *Slack) MessageText(ctx context.Context, channel, ts string) (string, string, error) {
	msgs, _, _, err := s.api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: channel, Timestamp: ts, Limit: 200, Inclusive: true})
	if err != nil {
		return "", "", fmt.Errorf("slack: conversations.replies %s/%s: %w", channel, ts, err)
	}
	for _, m := range msgs {
		if m.Timestamp == ts {
			return messageText(m.Msg), m.ThreadTimestamp, nil
		}
	}
	if len(msgs) == 0 {
		return "", "", fmt.Errorf("slack: no message %s/%s", channel, ts)
	}
	return messageText(msgs[0].Msg), msgs[0].Timestamp, nil
}

// messageText is a message's text followed by the links its attachments and
// blocks hold that the text does not: apps such as GitHub's put a pull
// request's link in an attachment's title_link or a block, not in the text,
// and `@Devy reviewapp` in such a thread must still find it.
func messageText(m slack.Msg) string {
	text := m.Text
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			for _, u := range linkRE.FindAllString(v, -1) {
				switch {
				case text == "":
					text = u
				case !strings.Contains(text, u):
					text += "\n" + u
				}
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(v)) { // the same links in the same order every time
				walk(v[k])
			}
		}
	}
	for _, part := range []any{m.Attachments, m.Blocks} {
		raw, err := json.Marshal(part)
		var v any
		if err == nil && json.Unmarshal(raw, &v) == nil {
			walk(v)
		}
	}
	return text
}

// linkRE finds a URL, up to where Slack's <url|label> markup ends it.
var linkRE = regexp.MustCompile(`https?://[^\s|<>"]+`)

// PublishHome shows a user Devy's App Home tab (views.publish).
func (s *Slack) PublishHome(ctx context.Context, user string, m commands.Message) error {
	req := slack.PublishViewContextRequest{UserID: user, View: slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks(m)}}}
	if _, err := s.api.PublishViewContext(ctx, req); err != nil {
		return fmt.Errorf("slack: views.publish for %s: %w", user, err)
	}
	return nil
}

// Upload shares a file in a channel, in a thread when threadTS is set. It is
// Slack's current three-step flow (files.getUploadURLExternal, a POST of the
// bytes to the URL it returns, files.completeUploadExternal), which
// slack-go's UploadFileContext runs; files.upload is retired.
func (s *Slack) Upload(ctx context.Context, channel, threadTS, filename, title string, data []byte) error {
	_, err := s.api.UploadFileContext(ctx, slack.UploadFileParameters{
		Filename: filename, FileSize: len(data), Reader: bytes.NewReader(data), Title: title,
		Channel: channel, ThreadTimestamp: threadTS, AltTxt: title,
	})
	if err != nil {
		return fmt.Errorf("slack: upload %s to %s: %w", filename, channel, err)
	}
	return nil
}
