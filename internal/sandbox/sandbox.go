// Package sandbox is a pretend pipeline for `devy shell` and for tests: the
// fake Heroku, GitHub and Semaphore servers, started in-process and seeded
// with one consistent story — a staging app a few commits ahead of two
// production apps, CI green, promotions that take a few seconds, and open
// pull requests (#7, #8, #9; #9's review app fails to build) whose review
// apps are ready in under two seconds (#4 is closed, #5 merged).
package sandbox

import (
	"fmt"
	"maps"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/devy-chatops/devy/config"
	"github.com/devy-chatops/devy/internal/fakegithub"
	"github.com/devy-chatops/devy/internal/fakeheroku"
	"github.com/devy-chatops/devy/internal/fakesemaphore"
	"github.com/devy-chatops/devy/internal/recorder"
)

// Names and tokens of the sandbox world.
const (
	Pipeline       = "shop"
	StagingApp     = "shop-staging"
	ProductionApp  = "shop-prod"
	ProductionEU   = "shop-prod-eu"
	Owner, Repo    = "acme", "shop"
	ProjectID      = "5b2c4f2e-0c3e-4b8e-9d55-3f1e1f0d7a11"
	HerokuToken    = "sandbox-heroku-token"
	GitHubToken    = "sandbox-github-token"
	SemaphoreToken = "sandbox-semaphore-token"
)

// Sandbox is the running world.
type Sandbox struct {
	Heroku    *fakeheroku.Server
	GitHub    *fakegithub.Server
	Semaphore *fakesemaphore.Server

	HerokuURL, GitHubURL, SemaphoreURL string

	// ProductionSHA and StagingSHA are the commits the apps run at start.
	ProductionSHA, StagingSHA string

	servers []*httptest.Server

	mu     sync.Mutex // guards merged
	merged int        // how many times Merge ran
}

// Start seeds the world and starts its servers on loopback ports.
func Start() *Sandbox {
	s := &Sandbox{
		Heroku:    fakeheroku.New(HerokuToken),
		GitHub:    fakegithub.New(Owner, Repo, GitHubToken),
		Semaphore: fakesemaphore.New(ProjectID, SemaphoreToken),
	}
	for _, h := range []struct {
		url *string
		srv *httptest.Server
	}{
		{&s.HerokuURL, httptest.NewServer(s.Heroku)},
		{&s.GitHubURL, httptest.NewServer(s.GitHub)},
		{&s.SemaphoreURL, httptest.NewServer(s.Semaphore)},
	} {
		*h.url = h.srv.URL
		s.servers = append(s.servers, h.srv)
	}
	s.seed()
	return s
}

func (s *Sandbox) seed() {
	gh, hk, ci := s.GitHub, s.Heroku, s.Semaphore
	gh.Commit("Initial storefront", "alice", "Procfile", "app.json", "app/shop.rb")
	// The open pull requests' heads come before production in the fake's
	// one linear history, so that a commit Merge lands later is the only
	// one it adds to the diff between production and staging.
	darkMode := gh.Commit("Dark mode toggle", "erin", "app/theme.rb")
	search := gh.Commit("Search by product name", "frank", "app/search.rb")
	ruby := gh.Commit("Upgrade Ruby to 3.4", "carol", "Gemfile", ".ruby-version")
	prod := gh.Commit("Add checkout page (#3)", "alice", "app/checkout.rb", "db/migrate/20261101_create_orders.rb")
	discounts := gh.Commit("Merge pull request #5 from acme/discounts", "bob", "app/discounts.rb", "db/migrate/20261120_add_discounts.rb")
	rounding := gh.Commit("Fix rounding in cart totals (#6)", "carol", "app/cart.rb", "spec/cart_spec.rb")
	staging := gh.Commit("Report errors to Sentry", "dave", "config/sentry.rb", "Procfile")
	s.ProductionSHA, s.StagingSHA = prod, staging
	// The pull requests the history names exist, so `/reviewapp 6` says
	// what became of #6 rather than that it does not exist.
	gh.AddPR(3, "Add checkout page", "alice", "alice/checkout", prod, "closed", true)
	gh.AddPR(6, "Fix rounding in cart totals", "carol", "carol/cart-rounding", rounding, "closed", true)
	gh.AddPR(7, "Dark mode for the storefront", "erin", "erin/dark-mode", darkMode, "open", false)

	hk.AddPipeline(Pipeline)
	hk.AddApp(Pipeline, StagingApp, "staging")
	hk.AddApp(Pipeline, ProductionApp, "production")
	hk.AddApp(Pipeline, ProductionEU, "production")
	for _, app := range []string{StagingApp, ProductionApp, ProductionEU} {
		hk.Release(app, prod, "alice@acme.test", "Deploy "+prod[:7])
		hk.SetConfigVars(app, map[string]string{"DATABASE_URL": "postgres://sandbox", "SECRET_KEY_BASE": "sandbox"})
	}
	hk.Release(StagingApp, staging, "dave@acme.test", "Deploy "+staging[:7])
	hk.SetConfigVars(StagingApp, map[string]string{"DATABASE_URL": "postgres://sandbox", "SECRET_KEY_BASE": "sandbox", "SENTRY_DSN": "https://sentry.example/1"})
	hk.SetPromotionDelay(3 * time.Second)
	// Short enough that `printf '/reviewapp 7\n' | devy shell` shows the app ready
	// before the shell exits.
	hk.SetReviewAppDelay(1500 * time.Millisecond)

	ci.AddPipeline("master", prod, "done", "passed")
	ci.AddPipeline("master", staging, "done", "passed")
	ci.AddPipeline("erin/dark-mode", darkMode, "done", "passed")

	// More pull requests for /reviewapp: one with CI still running, one
	// whose review app fails to build, a merged one and a closed one.
	gh.AddPR(8, "Search by product name", "frank", "frank/search", search, "open", false)
	ci.AddPipeline("frank/search", search, "running", "")
	gh.AddPR(9, "Upgrade Ruby to 3.4", "carol", "carol/ruby-3.4", ruby, "open", false)
	ci.AddPipeline("carol/ruby-3.4", ruby, "done", "passed")
	hk.FailReviewApp("carol/ruby-3.4", "Couldn't find that stack: Ruby 3.4.0 is not available on heroku-22.")
	gh.AddPR(5, "Discounts", "bob", "acme/discounts", discounts, "closed", true)
	gh.AddPR(4, "Gift cards", "dave", "dave/gift-cards", prod, "closed", false)
}

// merges are the pull requests Merge lands on staging, in turn.
var merges = []struct {
	title, author, branch, file string
}{
	{"Speed up product images", "grace", "grace/images", "app/images.rb"},
	{"Show stock levels on product pages", "heidi", "heidi/stock", "app/stock.rb"},
	{"Translate checkout into German", "ivan", "ivan/checkout-de", "config/locales/de.yml"},
}

// Merged is what Merge landed.
type Merged struct {
	SHA, Title, Author string
	PR                 int
}

// Merge lands a pull request by another author on master and deploys it to
// staging, with CI passed, as a merge on a real team would: so the sandbox
// has something to promote again after a promotion. The PR exists on
// GitHub, merged. Each call lands the next one of a short list, then the
// list again with a part number.
func (s *Sandbox) Merge() Merged {
	s.mu.Lock()
	i := s.merged
	s.merged++
	s.mu.Unlock()
	m := merges[i%len(merges)]
	title, branch, file := m.title, m.branch, m.file
	if round := i / len(merges); round > 0 {
		title = fmt.Sprintf("%s, part %d", m.title, round+1)
		branch = fmt.Sprintf("%s-%d", m.branch, round+1)
		file = fmt.Sprintf("%s.%d", m.file, round+1)
	}
	pr := 10 + i
	sha := s.GitHub.Commit(fmt.Sprintf("%s (#%d)", title, pr), m.author, file)
	s.GitHub.AddPR(pr, title, m.author, branch, sha, "closed", true)
	s.Semaphore.AddPipeline("master", sha, "done", "passed")
	s.Heroku.Release(StagingApp, sha, m.author+"@acme.test", "Deploy "+sha[:7])
	return Merged{SHA: sha, Title: title, Author: m.author, PR: pr}
}

// FailCI records a failed CI pipeline of sha on branch, newer than any
// other, so that what Devy reads of the commit's CI now says failed.
func (s *Sandbox) FailCI(branch, sha string) (pipelineID string) {
	return s.Semaphore.AddPipeline(branch, sha, "done", "failed")
}

// Configure points a configuration at the sandbox. Its commit authors
// (GitHub logins) are the shell's users of the same name, unless
// DEVY_USER_MAP says otherwise, so that `as bob` is the bob whose commits
// are on staging.
func (s *Sandbox) Configure(c config.Config) config.Config {
	c.HerokuToken, c.HerokuAPIURL, c.HerokuPipeline = HerokuToken, s.HerokuURL, Pipeline
	c.GitHubToken, c.GitHubAPIURL, c.GitHubRepository = GitHubToken, s.GitHubURL+"/", Owner+"/"+Repo
	c.SemaphoreToken, c.SemaphoreURL, c.SemaphoreProjectID = SemaphoreToken, s.SemaphoreURL, ProjectID
	people := maps.Clone(c.UserMap)
	if people == nil {
		people = map[string]string{}
	}
	for _, login := range authors {
		if _, ok := people[login]; !ok {
			people[login] = login
		}
	}
	for _, m := range merges {
		if _, ok := people[m.author]; !ok {
			people[m.author] = m.author
		}
	}
	c.UserMap = people
	return c
}

// authors are the GitHub logins of the seeded commits and pull requests
// (Merge's authors are in merges).
var authors = []string{"alice", "bob", "carol", "dave", "erin", "frank"}

// Env is the sandbox as environment variables, for driving the real binary.
func (s *Sandbox) Env() map[string]string {
	return map[string]string{
		"HEROKU_API_TOKEN": HerokuToken, "HEROKU_API_URL": s.HerokuURL, "HEROKU_PIPELINE": Pipeline,
		"GITHUB_TOKEN": GitHubToken, "GITHUB_API_URL": s.GitHubURL + "/", "GITHUB_REPOSITORY": Owner + "/" + Repo,
		"SEMAPHORE_API_TOKEN": SemaphoreToken, "SEMAPHORE_URL": s.SemaphoreURL, "SEMAPHORE_PROJECT_ID": ProjectID,
	}
}

// FailOnUnmatched fails t when it ends if one of the sandbox's servers
// received a request it has no route for (see each fake's AllowUnmatched
// for tests that send one on purpose).
func (s *Sandbox) FailOnUnmatched(t recorder.TB) {
	t.Helper()
	s.Heroku.FailOnUnmatched(t)
	s.GitHub.FailOnUnmatched(t)
	s.Semaphore.FailOnUnmatched(t)
}

// Close stops the servers.
func (s *Sandbox) Close() {
	for _, srv := range s.servers {
		srv.Close()
	}
}
