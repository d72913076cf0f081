package heroku

import (
	"context"
	"fmt"
	"time"

	heroku "github.com/heroku/heroku-go/v5"
)

// ReviewApp is a review app of a pipeline. Status is one of pending,
// creating, created, deleting, deleted or errored; AppID is "" until Heroku
// has made the app; Message and ErrorStatus say what went wrong, if anything.
type ReviewApp struct {
	ID, AppID   string
	Branch      string
	PRNumber    int // 0 when the review app is not tied to a pull request
	Status      string
	Message     string
	ErrorStatus string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// CreateReviewApp asks Heroku to build a review app of branch from the
// gzipped tarball at tarballURL (for example GitHub's archive link of the
// head commit). version is the commit SHA the tarball holds, shown by Heroku
// as the build's version; pr 0 leaves the pull request number out.
//
// API calls: 1.
func (c *Client) CreateReviewApp(ctx context.Context, pipelineID, branch string, pr int, tarballURL, version string) (ReviewApp, error) {
	opts := heroku.ReviewAppCreateOpts{Branch: branch, Pipeline: pipelineID}
	opts.SourceBlob.URL = &tarballURL
	if version != "" {
		opts.SourceBlob.Version = &version
	}
	op := "creating a review app for branch " + branch
	if pr > 0 {
		opts.PrNumber = &pr
		op = fmt.Sprintf("creating a review app for PR #%d", pr)
	}
	var ra *heroku.ReviewApp
	err := c.call(ctx, op, func(ctx context.Context) (err error) {
		ra, err = c.svc.ReviewAppCreate(ctx, opts)
		return err
	})
	if err != nil {
		return ReviewApp{}, err
	}
	return reviewAppFrom(ra), nil
}

// ReviewApp reads one review app.
//
// API calls: 1.
func (c *Client) ReviewApp(ctx context.Context, id string) (ReviewApp, error) {
	var ra *heroku.ReviewApp
	err := c.call(ctx, "reading review app "+id, func(ctx context.Context) (err error) {
		ra, err = c.svc.ReviewAppGetReviewApp(ctx, seg(id))
		return err
	})
	if err != nil {
		return ReviewApp{}, err
	}
	return reviewAppFrom(ra), nil
}

// ReviewApps lists the review apps of a pipeline (by id).
//
// API calls: 1 (one page of up to 200 review apps).
func (c *Client) ReviewApps(ctx context.Context, pipelineID string) ([]ReviewApp, error) {
	var list heroku.ReviewAppListResult
	err := c.call(ctx, "listing review apps", func(ctx context.Context) (err error) {
		list, err = c.svc.ReviewAppList(ctx, seg(pipelineID), nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]ReviewApp, 0, len(list))
	for i := range list {
		out = append(out, reviewAppFrom(&list[i]))
	}
	return out, nil
}

// DeleteReviewApp asks Heroku to delete a review app and its app. Deletion
// goes on after this returns (status deleting).
//
// API calls: 1.
func (c *Client) DeleteReviewApp(ctx context.Context, id string) error {
	return c.call(ctx, "deleting review app "+id, func(ctx context.Context) error {
		_, err := c.svc.ReviewAppDelete(ctx, seg(id))
		return err
	})
}

func reviewAppFrom(ra *heroku.ReviewApp) ReviewApp {
	out := ReviewApp{
		ID:        ra.ID,
		Branch:    ra.Branch,
		Status:    ra.Status,
		CreatedAt: ra.CreatedAt,
		UpdatedAt: ra.UpdatedAt,
	}
	if ra.App != nil {
		out.AppID = ra.App.ID
	}
	if ra.PrNumber != nil {
		out.PRNumber = *ra.PrNumber
	}
	if ra.Message != nil {
		out.Message = *ra.Message
	}
	if ra.ErrorStatus != nil {
		out.ErrorStatus = *ra.ErrorStatus
	}
	return out
}
