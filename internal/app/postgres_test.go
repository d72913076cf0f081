package app

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/devy-chatops/devy/internal/fakeslack"
	"github.com/devy-chatops/devy/internal/pgtest"
	"github.com/devy-chatops/devy/internal/sandbox"
	"github.com/devy-chatops/devy/store"
	"github.com/devy-chatops/devy/store/bolt"
	"github.com/devy-chatops/devy/store/pg"
)

// TestMain gives the PostgreSQL tests a server (see internal/pgtest).
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// process is one running devy binary.
type process struct {
	name string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

// startProcess runs the binary with env and waits until its Socket Mode
// connection is up.
func startProcess(t *testing.T, bin, name string, env map[string]string, fake *fakeslack.Server) *process {
	t.Helper()
	p := &process{name: name, cmd: exec.Command(bin), logs: &syncBuffer{}, done: make(chan struct{})}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stderr = p.logs
	n := fake.Connections()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not stop within 10 seconds of SIGTERM", name)
			_ = p.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("log of %s:\n%s", name, p.logs.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := fake.WaitConnections(ctx, n+1); err != nil {
		t.Fatalf("%s did not connect: %v\n%s", name, err, p.logs.String())
	}
	return p
}

// kill ends the process the way a crash or an OOM kill does: no shutdown.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// Two Devy processes on one PostgreSQL behave as one: Slack spreads the
// clicks over both, yet a request is promoted once; and when the process
// following a promotion dies, the other finishes it.
func TestTwoProcessesOnOnePostgreSQL(t *testing.T) {
	dbURL := pgtest.URL(t)
	bin := filepath.Join(t.TempDir(), "devy")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/devy-chatops/devy").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	fake := fakeslack.New(botToken, appToken)
	fake.SetPingInterval(200 * time.Millisecond)
	fake.SpreadEnvelopes(true)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close) // cleanups run last first: the processes stop before these
	t.Cleanup(fake.Close)
	fake.SetBaseURL(srv.URL)
	fake.AddChannel(devyChan, "devy", fakeslack.BotUserID)
	fake.AddChannel(critChan, "critical", fakeslack.BotUserID)
	sb := sandbox.Start()
	t.Cleanup(sb.Close)
	fake.FailOnUnmatched(t)
	sb.FailOnUnmatched(t)
	sb.Heroku.SetPromotionDelay(0)

	env := map[string]string{
		"SLACK_APP_TOKEN": appToken, "SLACK_BOT_TOKEN": botToken, "SLACK_API_URL": srv.URL + "/api/",
		"DATABASE_URL": dbURL, "LOG_LEVEL": "debug",
	}
	for k, v := range sb.Env() {
		env[k] = v
	}
	procs := []*process{startProcess(t, bin, "devy-a", env, fake), startProcess(t, bin, "devy-b", env, fake)}

	ctx := func() context.Context {
		c, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		t.Cleanup(cancel)
		return c
	}
	wait := func(what string, match func(fakeslack.Message) bool) fakeslack.Message {
		t.Helper()
		m, err := fake.WaitMessage(ctx(), match)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		return m
	}
	request := func(n int) fakeslack.Message {
		t.Helper()
		id := fake.SendSlashCommand(fakeslack.SlashCommand{Command: "/deploy", Text: "promote", UserID: alice, ChannelID: devyChan, ChannelName: "devy"})
		if _, err := fake.WaitAck(ctx(), id); err != nil {
			t.Fatal(err)
		}
		return wait(fmt.Sprintf("request #%d", n), func(m fakeslack.Message) bool {
			return !m.Ephemeral && strings.Contains(m.Text, fmt.Sprintf("Promotion request #%d ", n))
		})
	}
	finished := func(req fakeslack.Message, state string) {
		t.Helper()
		wait("request "+state, func(m fakeslack.Message) bool {
			return m.TS == req.TS && strings.Contains(m.Text, "("+state+")")
		})
	}

	t.Run("20 clicks spread over two processes promote once", func(t *testing.T) {
		req := request(1)
		// Twenty people click Approve on the message as their clients
		// show it: the clicks keep coming after the first one redrew it.
		var wg sync.WaitGroup
		ids := make([]string, 20)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ids[i] = fake.SendBlockAction(fakeslack.BlockAction{ActionID: "deploy.approve", BlockID: "deploy.request.1", Value: "1",
					UserID: fmt.Sprintf("U0CLICK%03d", i), ChannelID: devyChan, MessageTS: req.TS})
			}()
		}
		wg.Wait()
		for _, id := range ids {
			if _, err := fake.WaitAck(ctx(), id); err != nil {
				t.Fatal(err)
			}
		}
		finished(req, "succeeded")
		wait("19 'already approved' answers", func(fakeslack.Message) bool {
			n := 0
			for _, m := range fake.Messages() {
				if m.Ephemeral && strings.Contains(m.Text, "already approved by") {
					n++
				}
			}
			return n >= 19
		})
		if n := len(sb.Heroku.Promotions()); n != 1 {
			t.Fatalf("%d promotions reached Heroku, want exactly 1", n)
		}
		// The processes' logs reach the test through pipes, a moment after
		// the messages reach the fake Slack.
		followers := func() int {
			n := 0
			for _, p := range procs {
				if strings.Contains(p.logs.String(), `"message":"promotion finished"`) {
					n++
				}
			}
			return n
		}
		_ = fake.WaitFor(ctx(), func() bool { return followers() >= 1 })
		for _, p := range procs {
			if n := strings.Count(p.logs.String(), `"action":"deploy.approve"`); n < 5 {
				t.Errorf("%s handled %d of the clicks; Slack should have spread them", p.name, n)
			}
		}
		if n := followers(); n != 1 {
			t.Errorf("%d processes followed the promotion to its end, want 1", n)
		}
	})

	t.Run("a retry reaching the other process is ignored", func(t *testing.T) {
		id := fake.SendSlashCommand(fakeslack.SlashCommand{Command: "/incident", Text: "open Checkout returns 500s",
			UserID: alice, ChannelID: critChan, ChannelName: "critical"})
		if _, err := fake.WaitAck(ctx(), id); err != nil {
			t.Fatal(err)
		}
		wait("incident #1", func(m fakeslack.Message) bool { return m.Ephemeral && strings.Contains(m.Text, "Opened incident #1 ") })
		// Slack missed the ack and retries; spread over the connections,
		// the retry goes to the other process.
		if err := fake.Redeliver(id, "timeout"); err != nil {
			t.Fatal(err)
		}
		const ignored = "redelivery already taken by another Devy process"
		if err := fake.WaitFor(ctx(), func() bool {
			return strings.Contains(procs[0].logs.String(), ignored) || strings.Contains(procs[1].logs.String(), ignored)
		}); err != nil {
			t.Fatalf("neither process ignored the retry as taken: %v", err)
		}
		// The next incident is #2: the retry opened none.
		fake.SendSlashCommand(fakeslack.SlashCommand{Command: "/incident", Text: "open Payments are slow",
			UserID: alice, ChannelID: critChan, ChannelName: "critical"})
		wait("incident #2", func(m fakeslack.Message) bool { return m.Ephemeral && strings.Contains(m.Text, "Opened incident #2 ") })
		for _, m := range fake.Messages() {
			if strings.Contains(m.Text, "incident #3") {
				t.Fatalf("a third incident was opened: %s", m.Text)
			}
		}
	})

	t.Run("the survivor finishes a promotion whose follower died", func(t *testing.T) {
		sha := sb.GitHub.Commit("Faster checkout", "dave", "app/checkout.rb")
		sb.Heroku.Release(sandbox.StagingApp, sha, "dave@acme.test", "Deploy "+sha[:7])
		sb.Semaphore.AddPipeline("master", sha, "done", "passed")
		sb.Heroku.SetPromotionDelay(1 << 40) // pending until FinishPendingPromotions
		req := request(2)
		id, err := fake.ClickButton(req, "deploy.approve", bob)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fake.WaitAck(ctx(), id); err != nil {
			t.Fatal(err)
		}
		polls := sb.Heroku.Count("GET", "/pipeline-promotions/*")
		if err := fake.WaitFor(ctx(), func() bool { return sb.Heroku.Count("GET", "/pipeline-promotions/*") > polls }); err != nil {
			t.Fatalf("nobody follows the promotion: %v", err)
		}
		var follower, survivor *process
		for _, p := range procs {
			if strings.Contains(p.logs.String(), `"request":2,"approver":"`+bob+`"`) {
				follower = p
			} else {
				survivor = p
			}
		}
		if follower == nil || survivor == nil {
			t.Fatalf("cannot tell which process approved request 2")
		}
		follower.kill(t)
		sb.Heroku.FinishPendingPromotions()
		finished(req, "succeeded")
		wait("the thread reply", func(m fakeslack.Message) bool {
			return m.ThreadTS == req.TS && strings.Contains(m.Text, "your promotion #2") && strings.Contains(m.Text, "live")
		})
		if n := len(sb.Heroku.Promotions()); n != 2 {
			t.Fatalf("%d promotions reached Heroku, want 2 (one per request)", n)
		}
		if !strings.Contains(survivor.logs.String(), "resuming promotion") {
			t.Errorf("%s finished the promotion without taking it over", survivor.name)
		}
	})
}

// A database that goes away mid-run: commands say so in one sentence,
// /healthz turns 503, and everything works again once it is back.
func TestLostDatabaseIsReportedAndRecovered(t *testing.T) {
	proxy, dbURL := pgtest.NewProxy(t, pgtest.URL(t))
	port := freePort(t)
	h := start(t, map[string]string{"DATABASE_URL": dbURL, "PORT": port})
	health := func() int {
		resp, err := http.Get("http://127.0.0.1:" + port + "/healthz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if err := h.slack.WaitFor(h.ctx(), func() bool { return health() == http.StatusOK }); err != nil {
		t.Fatalf("healthz never answered 200 before the outage (last %d)", health())
	}

	proxy.Cut()
	h.slash(alice, devyChan, "/deploy", "lock")
	m := h.reply(alice, "My state store is unavailable right now, so I couldn't do that; try again in a minute (ref ")
	if strings.Contains(m.Text, "Something went wrong") {
		t.Errorf("reply: %q", m.Text)
	}
	if got := health(); got != http.StatusServiceUnavailable {
		t.Errorf("healthz = %d during the outage, want 503", got)
	}

	proxy.Restore()
	h.slash(alice, devyChan, "/deploy", "lock")
	h.wait("the lock, once the database is back", func(m fakeslack.Message) bool { return strings.Contains(m.Text, "locked by <@"+alice+">") })
	if err := h.slack.WaitFor(h.ctx(), func() bool { return health() == http.StatusOK }); err != nil {
		t.Errorf("healthz = %d after the outage", health())
	}
}

func TestUnreachableDatabaseStopsDevyAtStart(t *testing.T) {
	env := map[string]string{"SLACK_APP_TOKEN": appToken, "SLACK_BOT_TOKEN": botToken,
		"DATABASE_URL": "postgres://devy:s3cret@127.0.0.1:" + freePort(t) + "/devy?sslmode=require"}
	start := time.Now()
	err := Run(context.Background(), nil, func(k string) string { return env[k] }, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.HasPrefix(err.Error(), "DATABASE_URL: cannot reach PostgreSQL at 127.0.0.1:") || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("run = %v; want one line naming DATABASE_URL, without the password", err)
	}
	if took := time.Since(start); took > 11*time.Second {
		t.Errorf("gave up after %s", took)
	}
}

func TestUnusableDBPathStopsDevyAtStart(t *testing.T) {
	env := map[string]string{"SLACK_APP_TOKEN": appToken, "SLACK_BOT_TOKEN": botToken,
		"DEVY_DB_PATH": filepath.Join(t.TempDir(), "no-such-dir", "devy.db")}
	err := Run(context.Background(), nil, func(k string) string { return env[k] }, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.HasPrefix(err.Error(), "DEVY_DB_PATH: ") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("run = %v; want one line naming DEVY_DB_PATH", err)
	}
}

func TestMigrateStore(t *testing.T) {
	dbURL := pgtest.URL(t)
	path := filepath.Join(t.TempDir(), "devy.db")
	src, err := bolt.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r, err := src.CreateRequest(store.PromotionRequest{Pipeline: "p1", RequestedBy: alice, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.CloseRequest(r.ID, store.StatusRejected, bob, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := src.OpenIncident(store.Incident{Title: "DB down", Severity: "SEV1", OpenedBy: alice}, "opened"); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Verify(store.VerifyInput{Pipeline: "p1", User: bob, Commits: []store.CommitOwner{{SHA: "a1", Owner: bob}}}); err != nil {
		t.Fatal(err)
	}
	src.Close()

	migrate := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := Run(context.Background(), append([]string{"migrate-store"}, args...), func(string) string { return "" }, strings.NewReader(""), &out, &bytes.Buffer{})
		return out.String(), err
	}
	out, err := migrate("--from", "bbolt:"+path, "--to", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1  promotion requests", "4  audit entries", "1  incidents", "1  incident timeline entries", "1  verifications on staging"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	db, err := pg.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, _ := db.Request(r.ID); got.Status != store.StatusRejected || got.DecidedBy != bob {
		t.Errorf("copied request %+v", got)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", "bbolt:" + path, "--to", dbURL}, "already holds Devy data"},
		{[]string{"--from", "bbolt:" + path + ".missing", "--to", dbURL}, "no such file"},
		{[]string{"--from", path, "--to", dbURL}, "usage: devy migrate-store"},
		{[]string{"--from", "bbolt:" + path}, "usage: devy migrate-store"},
		{[]string{"--from", "bbolt:" + path, "--to", "postgres://x:s3cret@127.0.0.1:" + freePort(t) + "/x"}, "migrate-store: --to: cannot reach PostgreSQL"},
	} {
		if _, err := migrate(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("migrate-store %v: %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestSignalsOnPostgreSQLTwoReplicas takes a Sentry delivery in through two
// Devy replicas on one database, as a retry reaching the other replica
// would: one message, one incident, and a later delivery of the issue on its
// timeline.
func TestSignalsOnPostgreSQLTwoReplicas(t *testing.T) {
	dbURL := pgtest.URL(t)
	h, baseA := startSignals(t, map[string]string{"DATABASE_URL": dbURL})
	envB := map[string]string{}
	for k, v := range h.env {
		envB[k] = v
	}
	envB["PORT"] = freePort(t)
	baseB := "http://127.0.0.1:" + envB["PORT"]
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	n := h.slack.Connections()
	go func() {
		done <- Run(ctx, nil, func(k string) string { return envB[k] }, strings.NewReader(""), &bytes.Buffer{}, h.logs)
	}()
	t.Cleanup(func() { // before the first replica's: last registered, first run
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the second replica returned %v", err)
		}
	})
	if err := h.slack.WaitConnections(h.ctx(), n+1); err != nil {
		t.Fatalf("the second replica did not connect: %v", err)
	}
	if err := h.slack.WaitFor(h.ctx(), func() bool {
		resp, err := http.Get(baseB + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}); err != nil {
		t.Fatalf("the second replica's listener never answered: %v", err)
	}

	d := sentryOf(t, "issue", nil)
	for _, base := range []string{baseA, baseB} {
		if code := h.sendSentry(base, d); code != http.StatusOK {
			t.Fatalf("%s answered %d", base, code)
		}
	}
	msg := h.posted(devyChan, "KeyError: 'card_token'")
	h.click(msg, "signals_open_incident", carol)
	h.reply(carol, "Opened incident #1 (SEV3)")
	h.incidentChannel(1)
	if code := h.sendSentry(baseB, sentryOf(t, "resolved", nil)); code != http.StatusOK {
		t.Fatalf("issue/resolved answered %d", code)
	}
	if err := h.slack.WaitFor(h.ctx(), func() bool { return strings.Contains(h.show(carol, 1), "resolved") }); err != nil {
		t.Errorf("the resolution never reached the timeline: %v", err)
	}
	time.Sleep(1500 * time.Millisecond) // both replicas' flushes have run
	if got := len(h.channelMessages(devyChan)); got != 1 {
		t.Errorf("#devy has %d messages for one delivery sent to two replicas:%s", got, h.dump())
	}
}
