package wire

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The pipeline the Heroku, GitHub and Semaphore servers describe: staging
// two commits ahead of production, CI green on staging's commit, pull
// request #7 open.
const (
	pipelineID   = "5c2a2d5c-0000-4000-8000-000000000001"
	stagingID    = "5c2a2d5c-0000-4000-8000-000000000002"
	prodID       = "5c2a2d5c-0000-4000-8000-000000000003"
	stagingRelID = "5c2a2d5c-0000-4000-8000-000000000012"
	prodRelID    = "5c2a2d5c-0000-4000-8000-000000000013"
	stagingSlug  = "5c2a2d5c-0000-4000-8000-000000000022"
	prodSlug     = "5c2a2d5c-0000-4000-8000-000000000023"
	promotionID  = "5c2a2d5c-0000-4000-8000-000000000031"
	reviewAppID  = "5c2a2d5c-0000-4000-8000-000000000041"
	reviewAppApp = "5c2a2d5c-0000-4000-8000-000000000042"
	stagingSHA   = "2d9f5fcec1ca7c68fa7bd44dd58ec4ff65814563"
	prodSHA      = "36ebdf6e0c1d7e4c8a0a3b1b4e1f5b3a9d8c7b6a"
	prSHA        = "ac3f9796df42db976814e3fee670e11e3fd4b98a"
	repo         = "acme/shop"
	projectID    = "91e34570-0000-4000-8000-000000000099"
	stamp        = "2026-01-05T10:00:00Z"
)

type app struct{ id, name string }

var pipelineApps = []struct {
	app
	stage, release, slug, sha string
	version                   int
}{
	{app{stagingID, "shop-staging"}, "staging", stagingRelID, stagingSlug, stagingSHA, 42},
	{app{prodID, "shop-prod"}, "production", prodRelID, prodSlug, prodSHA, 41},
}

// heroku answers the Platform API calls Devy makes, with the shapes of the
// hyper-schema's examples (api-facts.md §3).
type herokuServer struct {
	mu        sync.Mutex // guards promoted and reviewApp
	promoted  bool
	reviewApp bool
}

func (h *herokuServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer heroku-conformance-token" {
		writeJSON(w, 401, map[string]any{"id": "unauthorized", "message": "Invalid credentials provided."})
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	p := r.URL.Path
	appJSON := func(id, name string) map[string]any {
		return map[string]any{"id": id, "name": name, "web_url": "https://" + name + ".herokuapp.com/", "created_at": stamp, "updated_at": stamp}
	}
	for _, a := range pipelineApps {
		for _, key := range []string{a.id, a.name} {
			switch p {
			case "/apps/" + key:
				writeJSON(w, 200, appJSON(a.id, a.name))
				return
			case "/apps/" + key + "/releases":
				writeJSON(w, 200, []map[string]any{{
					"id": a.release, "version": a.version, "status": "succeeded", "current": true,
					"description": "Deploy " + a.sha[:7], "created_at": stamp, "updated_at": stamp,
					"app": map[string]any{"id": a.id, "name": a.name}, "slug": map[string]any{"id": a.slug},
					"user": map[string]any{"id": "01234567-89ab-cdef-0123-456789abcdef", "email": "carol@example.com"},
				}})
				return
			case "/apps/" + key + "/slugs/" + a.slug:
				writeJSON(w, 200, map[string]any{"id": a.slug, "commit": a.sha, "commit_description": "Merge pull request #7", "created_at": stamp, "updated_at": stamp})
				return
			case "/apps/" + key + "/config-vars":
				vars := map[string]any{"DATABASE_URL": "postgres://secret"}
				if a.stage == "staging" {
					vars["SENTRY_DSN"] = "https://secret@sentry.io/1"
				}
				writeJSON(w, 200, vars)
				return
			}
		}
	}
	switch {
	case p == "/pipelines/shop" || p == "/pipelines/"+pipelineID:
		writeJSON(w, 200, map[string]any{"id": pipelineID, "name": "shop", "created_at": stamp, "updated_at": stamp})
	case p == "/pipelines/"+pipelineID+"/pipeline-couplings":
		var out []map[string]any
		for i, a := range pipelineApps {
			out = append(out, map[string]any{"id": fmt.Sprintf("5c2a2d5c-0000-4000-8000-00000000005%d", i), "stage": a.stage,
				"app": map[string]any{"id": a.id}, "pipeline": map[string]any{"id": pipelineID}, "created_at": stamp, "updated_at": stamp})
		}
		writeJSON(w, 200, out)
	case p == "/pipeline-promotions" && r.Method == "POST":
		h.promoted = true
		writeJSON(w, 201, h.promotion("pending"))
	case p == "/pipeline-promotions/"+promotionID:
		writeJSON(w, 200, h.promotion("completed"))
	case p == "/pipeline-promotions/"+promotionID+"/promotion-targets":
		writeJSON(w, 200, []map[string]any{{"id": "5c2a2d5c-0000-4000-8000-000000000032", "app": map[string]any{"id": prodID},
			"pipeline_promotion": map[string]any{"id": promotionID}, "release": map[string]any{"id": "5c2a2d5c-0000-4000-8000-000000000033"},
			"status": "succeeded", "error_message": nil}})
	case p == "/review-apps" && r.Method == "POST":
		h.reviewApp = true
		writeJSON(w, 201, reviewApp("creating", nil))
	case p == "/review-apps/"+reviewAppID && r.Method == "GET":
		writeJSON(w, 200, reviewApp("created", map[string]any{"id": reviewAppApp}))
	case p == "/review-apps/"+reviewAppID && r.Method == "DELETE":
		writeJSON(w, 200, reviewApp("deleting", map[string]any{"id": reviewAppApp}))
	case p == "/pipelines/"+pipelineID+"/review-apps":
		list := []map[string]any{}
		if h.reviewApp {
			list = append(list, reviewApp("created", map[string]any{"id": reviewAppApp}))
		}
		writeJSON(w, 200, list)
	case p == "/apps/"+reviewAppApp:
		writeJSON(w, 200, appJSON(reviewAppApp, "shop-pr-7"))
	default:
		writeJSON(w, 404, map[string]any{"id": "not_found", "message": "Couldn't find that resource."})
	}
}

func (h *herokuServer) promotion(status string) map[string]any {
	return map[string]any{"id": promotionID, "pipeline": map[string]any{"id": pipelineID},
		"source": map[string]any{"app": map[string]any{"id": stagingID}, "release": map[string]any{"id": stagingRelID}},
		"status": status, "created_at": stamp, "updated_at": stamp}
}

func reviewApp(status string, appRef any) map[string]any {
	return map[string]any{"id": reviewAppID, "app": appRef, "branch": "feature/search", "pr_number": 7, "status": status,
		"pipeline": map[string]any{"id": pipelineID}, "wait_for_ci": false, "message": nil, "error_status": nil,
		"creator": map[string]any{}, "created_at": stamp, "updated_at": stamp}
}

func (h *herokuServer) didPromote() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.promoted
}

// github answers the REST calls Devy makes (go-github v60's routes,
// api-facts.md §4).
type githubServer struct{}

func (githubServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer github-conformance-token" {
		writeJSON(w, 401, map[string]any{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	p := r.URL.Path
	base := "/repos/" + repo
	commit := func(sha, msg, login, name string) map[string]any {
		return map[string]any{"sha": sha, "html_url": "https://github.com/" + repo + "/commit/" + sha,
			"commit": map[string]any{"message": msg, "author": map[string]any{"name": name, "email": login + "@example.com", "date": stamp}},
			"author": map[string]any{"login": login}}
	}
	switch {
	case strings.HasPrefix(p, base+"/compare/"):
		writeJSON(w, 200, map[string]any{"status": "ahead", "ahead_by": 2, "behind_by": 0, "total_commits": 2,
			"html_url": "https://github.com/" + repo + "/compare/" + strings.TrimPrefix(p, base+"/compare/"),
			"commits":  []any{commit("b"+stagingSHA[1:], "Add search (#7)", "alice", "Alice"), commit(stagingSHA, "Merge pull request #7 from acme/feature/search", "bob", "Bob")},
			"files":    []any{map[string]any{"filename": "db/migrate/20260105_add_search.rb", "status": "added", "additions": 10, "deletions": 0}}})
	case p == base+"/pulls/7":
		writeJSON(w, 200, map[string]any{"number": 7, "state": "open", "title": "Add search", "draft": false, "merged": false,
			"html_url": "https://github.com/" + repo + "/pull/7", "user": map[string]any{"login": "alice"},
			"head": map[string]any{"ref": "feature/search", "sha": prSHA}, "base": map[string]any{"ref": "master", "sha": prodSHA}})
	case strings.HasPrefix(p, base+"/tarball/"):
		w.Header().Set("Location", "https://codeload.github.com/"+repo+"/legacy.tar.gz/"+strings.TrimPrefix(p, base+"/tarball/"))
		w.WriteHeader(http.StatusFound)
	case p == base+"/issues" && r.Method == "POST":
		writeJSON(w, 201, map[string]any{"number": 99, "html_url": "https://github.com/" + repo + "/issues/99"})
	default:
		writeJSON(w, 404, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
	}
}

// semaphore answers the v1alpha pipeline list, in its list shape
// (UPPERCASE, {seconds,nanos}; api-facts.md §5.2).
type semaphoreServer struct{}

func (semaphoreServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Token semaphore-conformance-token" {
		w.WriteHeader(401)
		return
	}
	if r.URL.Path != "/api/v1alpha/pipelines" || r.URL.Query().Get("project_id") != projectID {
		writeJSON(w, 404, "Not Found")
		return
	}
	sha, branch := stagingSHA, "master"
	if b := r.URL.Query().Get("branch_name"); strings.HasPrefix(b, "pull-request-") {
		sha, branch = prSHA, b
	}
	ts := map[string]any{"seconds": time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC).Unix(), "nanos": 0}
	writeJSON(w, 200, []map[string]any{{"ppl_id": "0a9563f9-09a3-4450-a9bf-75b75373881a", "wf_id": "484e263a-424a-4820-bff0-bba436c54042",
		"project_id": projectID, "branch_name": branch, "commit_sha": sha, "state": "DONE", "result": "PASSED", "result_reason": "TEST",
		"name": "Pipeline", "created_at": ts, "done_at": ts}})
}
