package heroku

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	heroku "github.com/heroku/heroku-go/v5"

	"github.com/devy-chatops/devy/integrations/apierr"
)

// App is a Heroku app as Devy shows it.
type App struct {
	ID, Name, WebURL string
}

// Pipeline is a pipeline with the apps Devy promotes between. Apps in the
// review, development and test stages are left out.
type Pipeline struct {
	ID, Name   string
	Staging    []App
	Production []App
}

// Release is one release of an app.
type Release struct {
	ID          string
	Version     int
	Status      string // pending, succeeded or failed
	Current     bool
	Description string
	UserEmail   string
	CreatedAt   time.Time
	AppID       string
	AppName     string
	// SlugID is the id of the build the release runs: its slug, or on a
	// Fir-generation app its OCI image. "" when the app was never built.
	SlugID string
	Commit string // "" when there is no build or it names no commit
}

// releaseWindow is how many of the newest releases CurrentRelease reads. The
// current release is nearly always the newest; a few more cover releases that
// failed or are still pending after it.
const releaseWindow = 10

// Pipeline reads a pipeline and its staging and production apps, each stage
// sorted by app name. Couplings carry only app ids, so names are read per app.
//
// API calls: 2, plus one per staging or production app.
func (c *Client) Pipeline(ctx context.Context, idOrName string) (Pipeline, error) {
	op := "reading pipeline " + idOrName
	var p *heroku.Pipeline
	err := c.call(ctx, op, func(ctx context.Context) (err error) {
		p, err = c.svc.PipelineInfo(ctx, seg(idOrName))
		return err
	})
	if err != nil {
		return Pipeline{}, err
	}
	var couplings heroku.PipelineCouplingListByPipelineResult
	err = c.call(ctx, "listing the apps of pipeline "+p.Name, func(ctx context.Context) (err error) {
		// Couplings are listed by pipeline id only; a name would 404.
		couplings, err = c.svc.PipelineCouplingListByPipeline(ctx, seg(p.ID), nil)
		return err
	})
	if err != nil {
		return Pipeline{}, err
	}
	out := Pipeline{ID: p.ID, Name: p.Name}
	// The apps are read at once: on a slow API, one after another would
	// add a round trip per app to every command that resolves the pipeline.
	var wanted []heroku.PipelineCoupling
	for _, cp := range couplings {
		if cp.Stage == "staging" || cp.Stage == "production" {
			wanted = append(wanted, cp)
		}
	}
	apps := make([]App, len(wanted))
	errs := make([]error, len(wanted))
	var wg sync.WaitGroup
	for i, cp := range wanted {
		wg.Add(1)
		go func() {
			defer wg.Done()
			apps[i], errs[i] = c.app(ctx, cp.App.ID, fmt.Sprintf("reading the %s app %s", cp.Stage, cp.App.ID))
		}()
	}
	wg.Wait()
	for i, cp := range wanted {
		if errs[i] != nil {
			return Pipeline{}, errs[i]
		}
		if cp.Stage == "staging" {
			out.Staging = append(out.Staging, apps[i])
		} else {
			out.Production = append(out.Production, apps[i])
		}
	}
	byName := func(apps []App) func(i, j int) bool {
		return func(i, j int) bool { return apps[i].Name < apps[j].Name }
	}
	sort.Slice(out.Staging, byName(out.Staging))
	sort.Slice(out.Production, byName(out.Production))
	return out, nil
}

// App reads one app by id or name.
//
// API calls: 1.
func (c *Client) App(ctx context.Context, idOrName string) (App, error) {
	return c.app(ctx, idOrName, "reading app "+idOrName)
}

func (c *Client) app(ctx context.Context, idOrName, op string) (App, error) {
	var a *heroku.App
	err := c.call(ctx, op, func(ctx context.Context) (err error) {
		a, err = c.svc.AppInfo(ctx, seg(idOrName))
		return err
	})
	if err != nil {
		return App{}, err
	}
	return App{ID: a.ID, Name: a.Name, WebURL: a.WebURL}, nil
}

// CurrentRelease returns the app's current release with the commit of its
// slug. If none of the newest releases is marked current, the newest one that
// succeeded is taken. An app with no such release gives an *apierr.Error
// wrapping ErrNoRelease.
//
// API calls: 1, plus 1 when the release has a build (slug or OCI image)
// whose commit was not read before.
func (c *Client) CurrentRelease(ctx context.Context, app string) (Release, error) {
	op := "reading the current release of " + app
	var wire []wireRelease
	err := c.call(ctx, op, func(ctx context.Context) (err error) {
		// One page, newest first: the current release is on it. Decoded
		// here rather than by heroku-go's ReleaseList, whose Release has no
		// oci_image (a Fir-generation app's build).
		return c.svc.Get(ctx, &wire, "/apps/"+seg(app)+"/releases", nil, &heroku.ListRange{Field: "version", Descending: true, Max: releaseWindow})
	})
	if err != nil {
		return Release{}, err
	}
	hr := pickCurrent(wire)
	if hr == nil {
		return Release{}, &apierr.Error{
			Service:    serviceName,
			Op:         op,
			StatusCode: http.StatusNotFound,
			Message:    fmt.Sprintf("no current release among the newest %d", releaseWindow),
			Err:        ErrNoRelease,
		}
	}
	r := Release{
		ID:          hr.ID,
		Version:     hr.Version,
		Status:      hr.Status,
		Current:     hr.Current,
		Description: hr.Description,
		UserEmail:   hr.User.Email,
		CreatedAt:   hr.CreatedAt,
		AppID:       hr.App.ID,
		AppName:     hr.App.Name,
	}
	// A release's slug is null when the app was never built (its first
	// releases are config and add-on changes), and on Fir-generation apps,
	// whose builds are OCI images.
	path := "/apps/" + seg(app) + "/slugs/"
	switch {
	case hr.Slug != nil:
		r.SlugID = hr.Slug.ID
	case hr.OCIImage != nil:
		r.SlugID, path = hr.OCIImage.ID, "/apps/"+seg(app)+"/oci-images/"
	default:
		return r, nil
	}
	c.mu.Lock()
	commit, known := c.commits[r.SlugID]
	c.mu.Unlock()
	if known {
		r.Commit = commit
		return r, nil
	}
	var built struct {
		Commit *string `json:"commit"`
	}
	err = c.call(ctx, fmt.Sprintf("reading the commit of %s v%d", app, hr.Version), func(ctx context.Context) error {
		return c.svc.Get(ctx, &built, path+seg(r.SlugID), nil, nil)
	})
	if err != nil {
		return Release{}, err
	}
	if built.Commit != nil {
		r.Commit = *built.Commit
	}
	c.mu.Lock()
	if len(c.commits) > 10000 {
		clear(c.commits) // a bound, not a policy: a pipeline has far fewer live slugs
	}
	c.commits[r.SlugID] = r.Commit
	c.mu.Unlock()
	return r, nil
}

// wireRelease is a release as the Platform API sends it: heroku-go's, with
// the OCI image a Fir-generation release runs instead of a slug.
type wireRelease struct {
	heroku.Release
	OCIImage *struct {
		ID string `json:"id"`
	} `json:"oci_image"`
}

// pickCurrent returns the release marked current, else the succeeded one
// with the highest version, else nil.
func pickCurrent(list []wireRelease) *wireRelease {
	var best *wireRelease
	for i := range list {
		r := &list[i]
		if r.Current {
			return r
		}
		if r.Status == "succeeded" && (best == nil || r.Version > best.Version) {
			best = r
		}
	}
	return best
}

// ConfigVarNames returns the sorted names of the app's config vars. The
// values are secrets and are dropped as soon as the answer is decoded.
//
// API calls: 1.
func (c *Client) ConfigVarNames(ctx context.Context, app string) ([]string, error) {
	var vars heroku.ConfigVarInfoForAppResult
	err := c.call(ctx, "reading the config var names of "+app, func(ctx context.Context) (err error) {
		vars, err = c.svc.ConfigVarInfoForApp(ctx, seg(app))
		return err
	})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}
