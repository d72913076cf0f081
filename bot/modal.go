package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/devy-chatops/devy/commands"
)

// metadata is what Devy keeps in a modal's private_metadata: where replies
// to the submission go, and the command's own data.
type metadata struct {
	Channel     string `json:"c,omitempty"`
	ResponseURL string `json:"r,omitempty"`
	Data        string `json:"m,omitempty"`
}

// OpenModal shows a modal (views.open).
func (s *Slack) OpenModal(ctx context.Context, triggerID string, m commands.Modal) error {
	meta, err := json.Marshal(metadata{Channel: m.Channel, ResponseURL: m.ResponseURL, Data: m.Metadata})
	if err != nil {
		return err
	}
	req := slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      m.CallbackID,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, clip(m.Title, 24), false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, clip(m.Submit, 24), false, false),
		Close:           slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
		PrivateMetadata: string(meta),
	}
	for _, in := range m.Inputs {
		req.Blocks.BlockSet = append(req.Blocks.BlockSet, inputBlock(in))
	}
	if _, err := s.api.OpenViewContext(ctx, triggerID, req); err != nil {
		return fmt.Errorf("slack: views.open %s: %w", m.CallbackID, err)
	}
	return nil
}

func inputBlock(in commands.Input) *slack.InputBlock {
	var hint *slack.TextBlockObject
	if in.Hint != "" {
		hint = slack.NewTextBlockObject(slack.PlainTextType, clip(in.Hint, 2000), false, false)
	}
	var el slack.BlockElement
	var options []*slack.OptionBlockObject
	var initial *slack.OptionBlockObject
	for _, o := range in.Options {
		opt := slack.NewOptionBlockObject(o.Value, slack.NewTextBlockObject(slack.PlainTextType, o.Text, false, false), nil)
		options = append(options, opt)
		if o.Value == in.Initial {
			initial = opt
		}
	}
	switch in.Kind {
	case commands.InputSelect:
		s := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, nil, in.ID, options...)
		s.InitialOption = initial
		el = s
	case commands.InputMultiSelect:
		el = slack.NewOptionsMultiSelectBlockElement(slack.MultiOptTypeStatic, nil, in.ID, options...)
	default:
		t := slack.NewPlainTextInputBlockElement(nil, in.ID)
		t.Multiline = in.Kind == commands.InputMultiline
		t.InitialValue = in.Initial
		el = t
	}
	b := slack.NewInputBlock(in.ID, slack.NewTextBlockObject(slack.PlainTextType, clip(in.Label, 2000), false, false), hint, el)
	b.Optional = in.Optional
	return b
}

// CreateChannel creates a public channel (conversations.create).
func (s *Slack) CreateChannel(ctx context.Context, name string) (string, error) {
	ch, err := s.api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: name})
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && se.Err == "name_taken" {
		return "", commands.ErrNameTaken
	}
	if err != nil {
		return "", fmt.Errorf("slack: conversations.create %s: %w", name, err)
	}
	return ch.ID, nil
}

// Invite adds people to a channel (conversations.invite).
func (s *Slack) Invite(ctx context.Context, channelID string, users ...string) error {
	_, err := s.api.InviteUsersToConversationContext(ctx, channelID, users...)
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && se.Err == "already_in_channel" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("slack: conversations.invite %s: %w", channelID, err)
	}
	return nil
}

// viewSubmission validates a modal before acknowledging it, because Slack
// takes field errors only in the acknowledgement; the work runs afterwards.
func (b *Bot) viewSubmission(evt socketmode.Event, cb slack.InteractionCallback) {
	if evt.Request == nil || evt.Request.EnvelopeID == "" {
		return
	}
	v := commands.View{CallbackID: cb.View.CallbackID, UserID: cb.User.ID, Values: map[string][]string{}}
	var meta metadata // also read below, where the reply goes
	if cb.View.PrivateMetadata != "" && json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta) == nil {
		v.Channel, v.Metadata = meta.Channel, meta.Data
	}
	if cb.View.State != nil {
		for blockID, actions := range cb.View.State.Values {
			for _, a := range actions {
				switch {
				case len(a.SelectedOptions) > 0:
					for _, o := range a.SelectedOptions {
						v.Values[blockID] = append(v.Values[blockID], o.Value)
					}
				case a.SelectedOption.Value != "":
					v.Values[blockID] = []string{a.SelectedOption.Value}
				case a.Value != "":
					v.Values[blockID] = []string{a.Value}
				}
			}
		}
	}
	if errs := b.router.ValidateView(v); len(errs) > 0 {
		if err := b.client.Ack(*evt.Request, slack.NewErrorsViewSubmissionResponse(errs)); err != nil {
			b.log.Error().Err(err).Msg("ack with field errors failed")
		}
		return
	}
	if err := b.client.Ack(*evt.Request); err != nil {
		b.log.Error().Err(err).Msg("ack failed")
	}
	key := "env:" + evt.Request.EnvelopeID
	if b.seenBefore(key) {
		return
	}
	b.background(func(ctx context.Context) {
		if !b.firstAnywhere(key) {
			return
		}
		start := time.Now()
		reply, err := b.router.SubmitView(ctx, v)
		outcome := b.explain(&reply, err, v.CallbackID)
		if v.Channel != "" || meta.ResponseURL != "" {
			b.deliver(ctx, v.Channel, "", v.UserID, meta.ResponseURL, reply)
		}
		b.log.Info().Str("view", v.CallbackID).Str("user", v.UserID).Dur("duration", time.Since(start)).Str("outcome", outcome).Msg("view handled")
	})
}
