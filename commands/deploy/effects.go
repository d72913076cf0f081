package deploy

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/commands/deploy/describe"
	"github.com/devy-chatops/devy/store"
)

// The reports of a request's outcome are effects (see store.Effect):
// recorded in the transaction that decides the outcome and carried out by
// the outbox, so that a crash between the two delays them but never loses
// them. Each carries only the request's id and draws from the stored
// request when it runs.
const (
	// EffectRedraw redraws the request's message.
	EffectRedraw = "deploy.redraw"
	// EffectReport tells the requester in the message's thread how it
	// ended.
	EffectReport = "deploy.report"
	// EffectFinished tells Deps.Finished (the incident timelines) that a
	// promotion ended.
	EffectFinished = "deploy.finished"
	// EffectExpired redraws an expired request (no buttons) and tells the
	// requester in its thread; the store records it with every expiry.
	EffectExpired = store.EffectExpired
)

type effectPayload struct {
	Request uint64 `json:"request"`
}

// effects are the effects of kinds for request id.
func effects(id uint64, kinds ...string) []store.Effect {
	payload, _ := json.Marshal(effectPayload{Request: id}) // a struct of one number always marshals
	out := make([]store.Effect, len(kinds))
	for i, k := range kinds {
		out[i] = store.Effect{Kind: k, Payload: payload}
	}
	return out
}

// handleEffects registers /deploy's effect handlers on o.
func (d *Desk) handleEffects(o *commands.Outbox) {
	o.Handle(EffectRedraw, d.withRequest(func(ctx context.Context, r store.PromotionRequest) error {
		return d.update(ctx, r)
	}))
	o.Handle(EffectReport, d.withRequest(d.report))
	o.Handle(EffectDeploymentStarted, d.withRequest(d.recordDeployments))
	o.Handle(EffectDeploymentFinished, d.withRequest(d.recordDeployments))
	o.Handle(EffectExpired, d.withRequest(func(ctx context.Context, r store.PromotionRequest) error {
		// A retry after a failed report redraws again, which is harmless.
		if err := d.update(ctx, r); err != nil {
			return err
		}
		return d.report(ctx, r)
	}))
	o.Handle(EffectFinished, d.withRequest(func(ctx context.Context, r store.PromotionRequest) error {
		if d.finished != nil {
			d.finished(ctx, r)
		}
		return nil
	}))
}

// withRequest turns f into a handler of effects naming a request.
func (d *Desk) withRequest(f func(context.Context, store.PromotionRequest) error) commands.EffectHandler {
	return func(ctx context.Context, e store.Effect) error {
		var p effectPayload
		if err := json.Unmarshal(e.Payload, &p); err != nil || p.Request == 0 {
			// Nothing can ever carry it out: dropped, not retried.
			d.log.Error().Uint64("effect", e.ID).Str("kind", e.Kind).RawJSON("payload", e.Payload).Msg("dropping an effect whose payload names no request")
			return nil
		}
		r, err := d.store.Request(p.Request)
		if err != nil {
			return fmt.Errorf("read request %d for %s: %w", p.Request, e.Kind, err)
		}
		return f(ctx, r)
	}
}

// report tells the requester, in the request's thread, how it ended.
func (d *Desk) report(ctx context.Context, r store.PromotionRequest) error {
	if r.MessageTS == "" {
		return nil // never posted: nobody saw it, nothing to answer in
	}
	text, ok := describe.Report(r, d.cfg.TTL)
	if !ok {
		return nil
	}
	msg := commands.Message{Text: text}
	if _, err := d.poster.Post(ctx, r.Channel, r.MessageTS, msg); err != nil {
		return fmt.Errorf("post the report of request %d: %w", r.ID, err)
	}
	return nil
}
