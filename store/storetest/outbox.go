package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/devy-chatops/devy/store"
)

var deliveryCases = []testCase{
	{"a delivery is handled once for a week", func(t *testing.T, e *env) {
		steps := []struct {
			name  string
			after time.Duration
			key   string
			first bool
		}{
			{"first", 0, "gh:1", true},
			{"redelivered", time.Minute, "gh:1", false},
			{"another key", 0, "gh:2", true},
			{"six days on", 6 * 24 * time.Hour, "gh:1", false},
			{"past the week", 25 * time.Hour, "gh:1", true},
			{"again at once", 0, "gh:1", false},
		}
		for _, s := range steps {
			e.clk.Add(s.after)
			if first, err := e.db.ClaimWebhookDelivery(s.key); err != nil || first != s.first {
				t.Fatalf("%s: ClaimWebhookDelivery(%s) = %v, %v; want %v", s.name, s.key, first, err, s.first)
			}
		}
		if _, err := e.db.ClaimWebhookDelivery(""); err == nil {
			t.Error("an empty key was claimed")
		}
	}},
	{"a delivery survives a restart", func(t *testing.T, e *env) {
		if first, err := e.db.ClaimWebhookDelivery("gh:1"); !first || err != nil {
			t.Fatalf("claim: %v, %v", first, err)
		}
		e.reopen(t)
		if first, err := e.db.ClaimWebhookDelivery("gh:1"); first || err != nil {
			t.Fatalf("claim after a restart: %v, %v; want false", first, err)
		}
	}},
	{"a forgotten delivery is handled again", func(t *testing.T, e *env) {
		if first, _ := e.db.ClaimWebhookDelivery("gh:1"); !first {
			t.Fatal("first claim refused")
		}
		if err := e.db.ForgetWebhookDelivery("gh:1"); err != nil {
			t.Fatal(err)
		}
		if err := e.db.ForgetWebhookDelivery("gh:never"); err != nil {
			t.Fatalf("forgetting an unknown key: %v", err)
		}
		if first, err := e.db.ClaimWebhookDelivery("gh:1"); !first || err != nil {
			t.Fatalf("claim after forgetting: %v, %v; want true", first, err)
		}
	}},
	{"concurrent claims of one delivery: one wins", func(t *testing.T, e *env) {
		firsts := race(t, 20, func(int) error {
			first, err := e.db.ClaimWebhookDelivery("gh:race")
			if err == nil && !first {
				return errLost
			}
			return err
		}, func(err error) bool { return errors.Is(err, errLost) })
		if firsts != 1 {
			t.Fatalf("%d claims were first, want 1", firsts)
		}
	}},
}

// errLost marks a call that lost a race, as it should.
var errLost = errors.New("lost")

func report(text string) store.Effect {
	payload, _ := json.Marshal(map[string]string{"text": text})
	return store.Effect{Kind: "deploy.report", Payload: payload}
}

var outboxCases = []testCase{
	{"finish enqueues its reports with the outcome", func(t *testing.T, e *env) {
		r := promoting(t, e)
		done, err := e.db.FinishPromotion(r.ID, store.StatusSucceeded, nil, "", report("live"), report("timeline"))
		if err != nil || done.Status != store.StatusSucceeded {
			t.Fatalf("finish: %+v, %v", done, err)
		}
		e.reopen(t)
		got, err := e.db.PendingEffects(0)
		if err != nil || len(got) != 2 {
			t.Fatalf("pending after a restart = %+v, %v; want 2", got, err)
		}
		var p map[string]string
		if err := json.Unmarshal(got[0].Payload, &p); err != nil || p["text"] != "live" || got[0].Kind != "deploy.report" ||
			!got[0].CreatedAt.Equal(e.clk.Now()) || got[0].ID >= got[1].ID {
			t.Fatalf("first effect %+v (%v), want the live report, oldest first", got[0], err)
		}
		if got, _ := e.db.PendingEffects(1); len(got) != 1 {
			t.Fatalf("limit 1 gave %d", len(got))
		}
	}},
	{"a refused finish enqueues nothing", func(t *testing.T, e *env) {
		r := newRequest(t, e, "U1") // pending: not promoting
		var de *store.DecisionError
		if _, err := e.db.FinishPromotion(r.ID, store.StatusSucceeded, nil, "", report("live")); !errors.As(err, &de) {
			t.Fatalf("finish of a pending request: %v, want DecisionError", err)
		}
		if got, err := e.db.PendingEffects(0); err != nil || len(got) != 0 {
			t.Fatalf("pending after a refused finish = %+v, %v", got, err)
		}
		if err := e.db.Enqueue(store.Effect{}); err == nil {
			t.Error("an effect without a kind was enqueued")
		}
	}},
	{"done removes the effect", func(t *testing.T, e *env) {
		if err := e.db.Enqueue(report("a"), report("b")); err != nil {
			t.Fatal(err)
		}
		got, _ := e.db.PendingEffects(0)
		if err := e.db.EffectDone(got[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := e.db.EffectDone(got[0].ID); err != nil {
			t.Fatalf("done twice: %v", err)
		}
		left, _ := e.db.PendingEffects(0)
		if len(left) != 1 || left[0].ID != got[1].ID {
			t.Fatalf("left %+v, want only the second", left)
		}
		if _, ok, err := e.db.ClaimEffect(got[0].ID, "a", time.Minute); ok || err != nil {
			t.Fatalf("claim of a done effect: %v, %v; want false", ok, err)
		}
	}},
	{"a claim is exclusive until it runs out", func(t *testing.T, e *env) {
		if err := e.db.Enqueue(report("a")); err != nil {
			t.Fatal(err)
		}
		got, _ := e.db.PendingEffects(0)
		id := got[0].ID
		steps := []struct {
			owner    string
			after    time.Duration
			ok       bool
			attempts int
		}{
			{"a", 0, true, 1},
			{"b", 0, false, 1},
			{"a", 30 * time.Second, true, 2}, // the owner renews
			{"b", 59 * time.Second, false, 2},
			{"b", 2 * time.Second, true, 3}, // a's claim ran out
		}
		for i, s := range steps {
			e.clk.Add(s.after)
			eff, ok, err := e.db.ClaimEffect(id, s.owner, time.Minute)
			if err != nil || ok != s.ok {
				t.Fatalf("step %d: ClaimEffect by %s = %v, %v; want %v", i, s.owner, ok, err, s.ok)
			}
			if eff.Attempts != s.attempts {
				t.Fatalf("step %d: attempts %d, want %d", i, eff.Attempts, s.attempts)
			}
		}
		if _, _, err := e.db.ClaimEffect(id, "", time.Minute); err == nil {
			t.Error("a claim without an owner was taken")
		}
	}},
	{"a failed attempt's claim becomes the wait before the next", func(t *testing.T, e *env) {
		if err := e.db.Enqueue(report("a")); err != nil {
			t.Fatal(err)
		}
		got, _ := e.db.PendingEffects(0)
		id := got[0].ID
		if _, ok, err := e.db.ClaimEffect(id, "a", time.Minute); !ok || err != nil {
			t.Fatalf("first claim: %v, %v", ok, err)
		}
		if err := e.db.RetryEffect(id, "b", e.db.Now()); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := e.db.ClaimEffect(id, "b", time.Minute); ok {
			t.Fatal("someone else's RetryEffect ended a's claim")
		}
		if err := e.db.RetryEffect(id, "a", e.db.Now().Add(5*time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := e.db.ClaimEffect(id, "b", time.Minute); ok {
			t.Fatal("b claimed it during a's wait")
		}
		e.clk.Add(5 * time.Second)
		if eff, ok, err := e.db.ClaimEffect(id, "b", time.Minute); !ok || err != nil || eff.Attempts != 2 {
			t.Fatalf("after the wait: %v, %v, attempts %d; want b's claim, the second attempt", ok, err, eff.Attempts)
		}
		if err := e.db.EffectDone(id); err != nil {
			t.Fatal(err)
		}
		if err := e.db.RetryEffect(id, "b", e.db.Now()); err != nil {
			t.Fatalf("RetryEffect of a done effect: %v", err)
		}
	}},
	{"concurrent claims of one effect: one wins", func(t *testing.T, e *env) {
		if err := e.db.Enqueue(report("a")); err != nil {
			t.Fatal(err)
		}
		got, _ := e.db.PendingEffects(0)
		wins := race(t, 20, func(i int) error {
			_, ok, err := e.db.ClaimEffect(got[0].ID, fmt.Sprintf("p%d", i), time.Minute)
			if err == nil && !ok {
				return errLost
			}
			return err
		}, func(err error) bool { return errors.Is(err, errLost) })
		if wins != 1 {
			t.Fatalf("%d claims won, want 1", wins)
		}
	}},
}
