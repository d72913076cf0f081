package heroku

import (
	"context"
	"time"

	heroku "github.com/heroku/heroku-go/v5"
)

// Promotion is a pipeline promotion. Its Status is only "pending" or
// "completed": whether it worked is told per target (PromotionTargets).
type Promotion struct {
	ID              string
	PipelineID      string
	SourceAppID     string
	SourceReleaseID string // the release being promoted
	Status          string
	CreatedAt       time.Time
}

// PromotionTarget is one app a promotion releases to. Status is "pending",
// "succeeded" or "failed" (then ErrorMessage says why); ReleaseID is the
// release made on the target, "" until there is one.
type PromotionTarget struct {
	ID, AppID, Status, ErrorMessage, ReleaseID string
}

// idRef is the {"id": …} object the API uses to name a resource.
type idRef struct {
	ID string `json:"id"`
}

// promotionRequest is the body of POST /pipeline-promotions. heroku-go's
// PipelinePromotionCreateOpts predates source.release.id, which pins the
// release to promote instead of whatever is current when Heroku gets to it.
type promotionRequest struct {
	Pipeline idRef `json:"pipeline"`
	Source   struct {
		App     idRef  `json:"app"`
		Release *idRef `json:"release,omitempty"`
	} `json:"source"`
	Targets []promotionRequestTarget `json:"targets"`
}

type promotionRequestTarget struct {
	App idRef `json:"app"`
}

// Promote starts promoting sourceReleaseID of the source app to every
// target app. An empty sourceReleaseID promotes the source's current release.
// The promotion runs on Heroku; follow it with Promotion and PromotionTargets.
//
// API calls: 1.
func (c *Client) Promote(ctx context.Context, pipelineID, sourceAppID, sourceReleaseID string, targetAppIDs []string) (Promotion, error) {
	var body promotionRequest
	body.Pipeline.ID = pipelineID
	body.Source.App.ID = sourceAppID
	if sourceReleaseID != "" {
		body.Source.Release = &idRef{ID: sourceReleaseID}
	}
	body.Targets = make([]promotionRequestTarget, 0, len(targetAppIDs))
	for _, id := range targetAppIDs {
		body.Targets = append(body.Targets, promotionRequestTarget{App: idRef{ID: id}})
	}
	var p heroku.PipelinePromotion
	err := c.call(ctx, "starting the promotion", func(ctx context.Context) error {
		return c.svc.Post(ctx, &p, "/pipeline-promotions", body)
	})
	if err != nil {
		return Promotion{}, err
	}
	return promotionFrom(&p), nil
}

// Promotion reads a promotion.
//
// API calls: 1.
func (c *Client) Promotion(ctx context.Context, id string) (Promotion, error) {
	var p *heroku.PipelinePromotion
	err := c.call(ctx, "reading promotion "+id, func(ctx context.Context) (err error) {
		p, err = c.svc.PipelinePromotionInfo(ctx, seg(id))
		return err
	})
	if err != nil {
		return Promotion{}, err
	}
	return promotionFrom(p), nil
}

func promotionFrom(p *heroku.PipelinePromotion) Promotion {
	return Promotion{
		ID:              p.ID,
		PipelineID:      p.Pipeline.ID,
		SourceAppID:     p.Source.App.ID,
		SourceReleaseID: p.Source.Release.ID,
		Status:          p.Status,
		CreatedAt:       p.CreatedAt,
	}
}

// PromotionTargets lists the targets of a promotion with their outcome.
//
// API calls: 1 (one page of up to 200 targets, far more than a pipeline has).
func (c *Client) PromotionTargets(ctx context.Context, promotionID string) ([]PromotionTarget, error) {
	var list heroku.PipelinePromotionTargetListResult
	err := c.call(ctx, "reading the targets of promotion "+promotionID, func(ctx context.Context) (err error) {
		list, err = c.svc.PipelinePromotionTargetList(ctx, seg(promotionID), nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]PromotionTarget, 0, len(list))
	for _, t := range list {
		pt := PromotionTarget{ID: t.ID, AppID: t.App.ID, Status: t.Status}
		if t.ErrorMessage != nil {
			pt.ErrorMessage = *t.ErrorMessage
		}
		if t.Release != nil {
			pt.ReleaseID = t.Release.ID
		}
		out = append(out, pt)
	}
	return out, nil
}
