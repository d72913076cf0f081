package fakeheroku

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/devy-chatops/devy/internal/recorder"
)

// accountEmail is the account the token belongs to: it owns the apps and
// makes the releases that promotions and review apps create.
const accountEmail = "devy@example.com"

// validStage tells the stages a coupling can have (schema.json
// pipeline-coupling.stage).
func validStage(stage string) bool {
	switch stage {
	case "review", "development", "staging", "production", "test":
		return true
	}
	return false
}

type pipeline struct {
	id, name string
	created  time.Time
}

type app struct {
	id, name   string
	pipelineID string // "" when not coupled
	stage      string
	couplingID string
	created    time.Time
	updated    time.Time
	config     map[string]string
	releases   []*release // by version, oldest first
}

type release struct {
	id          string
	version     int
	status      string
	description string
	userEmail   string
	slugID      string // "" encodes a null slug
	created     time.Time
}

type slug struct {
	id      string
	commit  string // "" encodes a null commit
	created time.Time
}

type promotion struct {
	id           string
	pipelineID   string
	sourceAppID  string
	releaseID    string // the source release being promoted
	status       string // pending, completed
	created      time.Time
	updated      time.Time // zero until completed: updated_at is null
	resolveAt    time.Time
	targets      []*target
	sourceName   string
	sourceVer    int
	sourceSlugID string
}

type target struct {
	id, appID    string
	status       string // pending, succeeded, failed
	errorMessage string // "" encodes null
	releaseID    string // "" until the release exists
}

type reviewApp struct {
	id, pipelineID string
	branch         string
	pr             int // 0 encodes a null pr_number
	version        string
	status         string
	appID          string // "" until created
	message        string
	errorStatus    string
	failWith       string // set at creation from FailReviewApp
	created        time.Time
	updated        time.Time
	readyAt        time.Time
	halfway        time.Time // when it turns from pending to creating
}

// PromotionRecord is what one accepted POST /pipeline-promotions carried and
// what it made.
type PromotionRecord struct {
	ID              string   // the promotion created
	Body            []byte   // the raw request body
	PipelineID      string   // pipeline.id as received
	SourceAppID     string   // source.app.id as received
	SourceReleaseID string   // source.release.id as received; "" when absent
	TargetAppIDs    []string // targets[].app.id as received
	PromotedRelease string   // the source release actually promoted
	TargetIDs       []string // the promotion targets created
}

// newID returns a fresh UUID-shaped id; s.mu held.
func (s *Server) newID() string {
	s.seq++
	return fmt.Sprintf("00000000-0000-4000-8000-%012x", s.seq)
}

// userID returns the stable user id of an email; s.mu held.
func (s *Server) userID(email string) string {
	id, ok := s.users[email]
	if !ok {
		id = s.newID()
		s.users[email] = id
	}
	return id
}

// now reads the server's clock (tests may replace it); s.mu held.
func (s *Server) now() time.Time { return s.clock().UTC() }

// AddPipeline creates a pipeline and returns its id.
func (s *Server) AddPipeline(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &pipeline{id: s.newID(), name: name, created: s.now()}
	s.pipelines[p.id] = p
	return p.id
}

// AddApp creates an app coupled to pipeline (id or name; "" for none) in
// stage, with web_url https://<name>.herokuapp.com/ and, like a real new app,
// a v1 "Initial release" that has no slug. It panics on an unknown pipeline
// or stage, which is a mistake in the test's setup.
func (s *Server) AddApp(pipeline, name, stage string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var pid string
	if pipeline != "" {
		p := s.findPipeline(pipeline, true)
		if p == nil {
			panic("fakeheroku: AddApp: no pipeline " + pipeline)
		}
		pid = p.id
		if !validStage(stage) {
			panic("fakeheroku: AddApp: bad stage " + stage)
		}
	}
	return s.addApp(pid, name, stage).id
}

// addApp creates an app with its initial release; s.mu held.
func (s *Server) addApp(pipelineID, name, stage string) *app {
	t := s.now()
	a := &app{id: s.newID(), name: name, created: t, updated: t, config: map[string]string{}}
	if pipelineID != "" {
		a.pipelineID, a.stage, a.couplingID = pipelineID, stage, s.newID()
	}
	s.apps[a.id] = a
	s.addRelease(a, "", "Initial release", accountEmail)
	return a
}

// addRelease appends a succeeded release; s.mu held.
func (s *Server) addRelease(a *app, slugID, description, email string) *release {
	r := &release{
		id:          s.newID(),
		version:     len(a.releases) + 1,
		status:      "succeeded",
		description: description,
		userEmail:   email,
		slugID:      slugID,
		created:     s.now(),
	}
	a.releases = append(a.releases, r)
	a.updated = r.created
	return r
}

// newSlug stores a slug built from commit ("" for a null commit); s.mu held.
func (s *Server) newSlug(commit string) *slug {
	sl := &slug{id: s.newID(), commit: commit, created: s.now()}
	s.slugs[sl.id] = sl
	return sl
}

// Release deploys commitSHA to app as a new slug and a new succeeded,
// current release, and returns that release's id and version.
func (s *Server) Release(appName, commitSHA, userEmail, description string) (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.mustApp("Release", appName)
	r := s.addRelease(a, s.newSlug(commitSHA).id, description, userEmail)
	return r.id, r.version
}

// ConfigRelease adds a release that reuses the current slug (null if the app
// was never built), as a config var change does.
func (s *Server) ConfigRelease(appName, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.mustApp("ConfigRelease", appName)
	var slugID string
	if cur := currentRelease(a); cur != nil {
		slugID = cur.slugID
	}
	s.addRelease(a, slugID, description, accountEmail)
}

// SetConfigVars sets (adds or replaces) config vars of an app.
func (s *Server) SetConfigVars(appName string, vars map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.mustApp("SetConfigVars", appName)
	for k, v := range vars {
		a.config[k] = v
	}
}

// failure is a refusal a test set up: the message the API will give and
// the stub that notes it was given.
type failure struct {
	message string
	stub    *recorder.Stub
}

// use marks f used and returns its message; a nil f is no failure, "".
func (f *failure) use() string {
	if f == nil {
		return ""
	}
	f.stub.Use()
	return f.message
}

// FailPromotionTo makes promotion targets to app (id or name) fail with
// message from now on. A test that needs a promotion to fail this way
// calls Require on the stub returned.
func (s *Server) FailPromotionTo(appName, message string) *recorder.Stub {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := &failure{message: message, stub: recorder.NewStub(fmt.Sprintf("fakeheroku: FailPromotionTo %s", appName))}
	s.promotionFails[s.mustApp("FailPromotionTo", appName).id] = f
	return f.stub
}

// CurrentRelease returns the id, version and slug commit ("" if none) of the
// app's current release, after letting due promotions land.
func (s *Server) CurrentRelease(appName string) (id string, version int, commit string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(s.now())
	a := s.mustApp("CurrentRelease", appName)
	r := currentRelease(a)
	if r == nil {
		return "", 0, ""
	}
	if sl := s.slugs[r.slugID]; sl != nil {
		commit = sl.commit
	}
	return r.id, r.version, commit
}

// Promotions returns what each accepted POST /pipeline-promotions carried.
func (s *Server) Promotions() []PromotionRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PromotionRecord, len(s.promotionLog))
	for i, p := range s.promotionLog {
		p.Body = append([]byte(nil), p.Body...)
		p.TargetAppIDs = append([]string(nil), p.TargetAppIDs...)
		p.TargetIDs = append([]string(nil), p.TargetIDs...)
		out[i] = p
	}
	return out
}

// SetPromotionDelay sets how long new promotions stay pending. With 0 they
// are pending in the create response and resolved by the next request.
func (s *Server) SetPromotionDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.promotionDelay = d
}

// FinishPendingPromotions lets every pending promotion resolve at the next
// request, as if Heroku had caught up (for tests of restarts).
func (s *Server) FinishPendingPromotions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.promotions {
		if p.status == "pending" {
			p.resolveAt = time.Time{}
		}
	}
}

// FinishPendingReviewApps lets every building review app finish at the next
// request (for tests of restarts).
func (s *Server) FinishPendingReviewApps() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ra := range s.reviewApps {
		ra.readyAt, ra.halfway = time.Time{}, time.Time{}
	}
}

// SetReviewAppDelay sets how long new review apps take: pending for the
// first half, creating for the second, then created (or errored). With 0 they
// are pending in the create response and done by the next request.
func (s *Server) SetReviewAppDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reviewDelay = d
}

// FailReviewApp makes review apps created later for branch end errored with
// message. A test that needs one to fail calls Require on the stub
// returned.
func (s *Server) FailReviewApp(branch, message string) *recorder.Stub {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := &failure{message: message, stub: recorder.NewStub(fmt.Sprintf("fakeheroku: FailReviewApp %s", branch))}
	s.reviewFails[branch] = f
	return f.stub
}

// mustApp finds an app by id or name for a setup helper; s.mu held.
func (s *Server) mustApp(helper, idOrName string) *app {
	a := s.findApp(idOrName)
	if a == nil {
		panic(fmt.Sprintf("fakeheroku: %s: no app %s", helper, idOrName))
	}
	return a
}

// findApp looks an app up by id or name; s.mu held.
func (s *Server) findApp(idOrName string) *app {
	if a, ok := s.apps[idOrName]; ok {
		return a
	}
	for _, a := range s.apps {
		if a.name == idOrName {
			return a
		}
	}
	return nil
}

// findPipeline looks a pipeline up by id, or also by name when byName (some
// routes take only an id); s.mu held.
func (s *Server) findPipeline(idOrName string, byName bool) *pipeline {
	if p, ok := s.pipelines[idOrName]; ok {
		return p
	}
	if !byName {
		return nil
	}
	for _, p := range s.pipelines {
		if p.name == idOrName {
			return p
		}
	}
	return nil
}

// currentRelease is the newest succeeded release, as Heroku marks current.
func currentRelease(a *app) *release {
	for i := len(a.releases) - 1; i >= 0; i-- {
		if a.releases[i].status == "succeeded" {
			return a.releases[i]
		}
	}
	return nil
}

// advance moves promotions and review apps whose time has come; s.mu held.
func (s *Server) advance(t time.Time) {
	ids := make([]string, 0, len(s.promotions))
	for id := range s.promotions {
		ids = append(ids, id)
	}
	sort.Strings(ids) // ids grow with time: land promotions in creation order
	for _, id := range ids {
		p := s.promotions[id]
		if p.status == "pending" && !t.Before(p.resolveAt) {
			s.resolvePromotion(p)
		}
	}
	for _, id := range s.reviewOrder {
		s.advanceReviewApp(s.reviewApps[id], t)
	}
}

// resolvePromotion releases the source slug on every target that is not
// set to fail; s.mu held.
func (s *Server) resolvePromotion(p *promotion) {
	for _, tg := range p.targets {
		if f, ok := s.promotionFails[tg.appID]; ok {
			tg.status, tg.errorMessage = "failed", f.use()
			continue
		}
		a := s.apps[tg.appID]
		if a == nil { // deleted meanwhile
			tg.status, tg.errorMessage = "failed", "Couldn't find that app."
			continue
		}
		r := s.addRelease(a, p.sourceSlugID, fmt.Sprintf("Promote %s v%d", p.sourceName, p.sourceVer), accountEmail)
		tg.status, tg.releaseID = "succeeded", r.id
	}
	p.status, p.updated = "completed", s.now()
}

// advanceReviewApp moves one review app along pending → creating → created
// (or errored), and deleting → deleted; s.mu held.
func (s *Server) advanceReviewApp(ra *reviewApp, t time.Time) {
	switch ra.status {
	case "deleting":
		ra.status, ra.updated = "deleted", s.now()
	case "pending", "creating":
		if t.Before(ra.readyAt) {
			if ra.status == "pending" && !t.Before(ra.halfway) {
				ra.status, ra.updated = "creating", s.now()
			}
			return
		}
		if ra.failWith != "" {
			ra.status, ra.message, ra.errorStatus, ra.updated = "errored", ra.failWith, ra.failWith, s.now()
			return
		}
		p := s.pipelines[ra.pipelineID]
		a := s.addApp(ra.pipelineID, reviewAppName(p.name, ra.pr, ra.branch), "review")
		s.addRelease(a, s.newSlug(ra.version).id, "Deploy "+short(ra.version), accountEmail)
		ra.status, ra.appID, ra.updated = "created", a.id, s.now()
	}
}

// reviewAppName is "<pipeline>-pr-<n>", or "<pipeline>-<branch>" without a PR.
func reviewAppName(pipelineName string, pr int, branch string) string {
	if pr > 0 {
		return fmt.Sprintf("%s-pr-%d", pipelineName, pr)
	}
	b := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '-'
	}, branch)
	return pipelineName + "-" + b
}

func short(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}
