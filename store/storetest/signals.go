package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/devy-chatops/devy/store"
)

// counter is the JSON the signal cases store: the store keeps it opaque.
type counter struct {
	N    int    `json:"n"`
	Note string `json:"note,omitempty"`
}

func decodeCounter(t *testing.T, raw json.RawMessage) counter {
	t.Helper()
	var c counter
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("stored JSON %q: %v", raw, err)
	}
	return c
}

// increment adds one to the counter in raw (none: zero).
func increment(raw json.RawMessage) (json.RawMessage, error) {
	var c counter
	if raw != nil {
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, err
		}
	}
	c.N++
	return json.Marshal(c)
}

var errRefused = errors.New("refused by f")

var signalCases = []testCase{
	{"concurrent updates of one signal take turns", func(t *testing.T, e *env) {
		// The key is new: even its first store is serialized.
		wins := race(t, 20, func(int) error {
			_, err := e.db.UpdateSignal("sentry:1", increment)
			return err
		}, func(error) bool { return false })
		if wins != 20 {
			t.Fatalf("%d of 20 updates went through", wins)
		}
		raw, ok, err := e.db.Signal("sentry:1")
		if err != nil || !ok {
			t.Fatalf("Signal = %q, %v, %v", raw, ok, err)
		}
		if c := decodeCounter(t, raw); c.N != 20 {
			t.Fatalf("counter = %d after 20 increments, want 20", c.N)
		}
	}},
	{"an update sees the stored JSON and returns what it stored", func(t *testing.T, e *env) {
		if raw, ok, err := e.db.Signal("am:g1"); ok || raw != nil || err != nil {
			t.Fatalf("a signal never stored: %q, %v, %v; want nothing", raw, ok, err)
		}
		var seen []json.RawMessage
		for i := 1; i <= 2; i++ {
			out, err := e.db.UpdateSignal("am:g1", func(raw json.RawMessage) (json.RawMessage, error) {
				seen = append(seen, raw)
				return increment(raw)
			})
			if err != nil || decodeCounter(t, out).N != i {
				t.Fatalf("update %d returned %q, %v", i, out, err)
			}
		}
		if seen[0] != nil || decodeCounter(t, seen[1]).N != 1 {
			t.Fatalf("f saw %q; want nothing, then the first update's JSON", seen)
		}
		e.reopen(t)
		raw, ok, err := e.db.Signal("am:g1")
		if err != nil || !ok || decodeCounter(t, raw).N != 2 {
			t.Fatalf("after a restart: %q, %v, %v; want n=2", raw, ok, err)
		}
	}},
	{"a failing update writes nothing and returns f's error as it is", func(t *testing.T, e *env) {
		if _, err := e.db.UpdateSignal("s1", increment); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"s1", "s-new"} {
			_, err := e.db.UpdateSignal(key, func(raw json.RawMessage) (json.RawMessage, error) {
				return json.RawMessage(`{"n":99}`), fmt.Errorf("wrapped: %w", errRefused)
			})
			if !errors.Is(err, errRefused) || err.Error() != "wrapped: refused by f" {
				t.Errorf("%s: UpdateSignal error = %v; want f's error unchanged", key, err)
			}
		}
		raw, ok, err := e.db.Signal("s1")
		if err != nil || !ok || decodeCounter(t, raw).N != 1 {
			t.Errorf("s1 after a failed update: %q, %v, %v; want n=1", raw, ok, err)
		}
		if raw, ok, err := e.db.Signal("s-new"); ok || err != nil {
			t.Errorf("s-new after a failed first update: %q, %v, %v; want nothing stored", raw, ok, err)
		}
		// The next update of the new key starts from nothing.
		out, err := e.db.UpdateSignal("s-new", increment)
		if err != nil || decodeCounter(t, out).N != 1 {
			t.Errorf("s-new's next update: %q, %v; want n=1", out, err)
		}
		if _, err := e.db.UpdateSignal("s1", func(json.RawMessage) (json.RawMessage, error) {
			return json.RawMessage(`{not json`), nil
		}); err == nil {
			t.Error("f's invalid JSON was stored")
		}
	}},
	{"signals are listed by key prefix, bytewise, with their JSON", func(t *testing.T, e *env) {
		for _, key := range []string{"sentry:b", "sentry-metric:a", "sentry:a", "github-deployment:pr-7", "sentry:a%", "sentry_x"} {
			if _, err := e.db.UpdateSignal(key, increment); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.db.UpdateSignal("sentry:a", increment); err != nil {
			t.Fatal(err)
		}
		// A failed first store leaves nothing to list (PostgreSQL holds
		// the key inside its transaction).
		if _, err := e.db.UpdateSignal("sentry:never", func(json.RawMessage) (json.RawMessage, error) { return nil, errRefused }); !errors.Is(err, errRefused) {
			t.Fatalf("UpdateSignal = %v", err)
		}
		e.reopen(t)
		for _, tc := range []struct {
			prefix string
			want   []string // key=n
		}{
			{"sentry:", []string{"sentry:a=2", "sentry:a%=1", "sentry:b=1"}},
			{"sentry_", []string{"sentry_x=1"}}, // no LIKE wildcards
			{"sentry:a%", []string{"sentry:a%=1"}},
			{"github-deployment:", []string{"github-deployment:pr-7=1"}},
			{"nothing:", nil},
			{"", []string{"github-deployment:pr-7=1", "sentry-metric:a=1", "sentry:a=2", "sentry:a%=1", "sentry:b=1", "sentry_x=1"}},
		} {
			rows, err := e.db.Signals(tc.prefix)
			if err != nil {
				t.Fatalf("Signals(%q): %v", tc.prefix, err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, fmt.Sprintf("%s=%d", r.Key, decodeCounter(t, r.Raw).N))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Signals(%q) = %q; want %q", tc.prefix, got, tc.want)
			}
		}
	}},
	{"records are kept once, oldest first", func(t *testing.T, e *env) {
		t0 := e.clk.Now()
		add := func(kind, key string, at time.Time, title string) {
			t.Helper()
			payload, _ := json.Marshal(map[string]string{"title": title})
			if err := e.db.AddRecord(kind, key, at, payload); err != nil {
				t.Fatalf("AddRecord(%s, %s, %s): %v", kind, key, at, err)
			}
		}
		add("critical", "am:b", t0.Add(2*time.Hour), "b")
		add("critical", "am:a", t0, "a")
		add("critical", "am:a", t0, "a again") // a retry: kept once, the first stays
		add("critical", "am:c", t0.Add(2*time.Hour), "c")
		add("critical", "am:a", t0.Add(time.Hour), "a later")
		add("exception", "sentry:1", t0.Add(time.Hour), "x")
		add("critical", "am:old", t0.Add(-48*time.Hour), "old")
		// Times within one microsecond are one time in both stores.
		add("critical", "am:a", t0.Add(500*time.Nanosecond), "a within a microsecond")
		e.reopen(t)

		type row struct {
			key, title string
			at         time.Time
		}
		read := func(rows []store.RecordRow, err error) []row {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			var out []row
			for _, r := range rows {
				var p map[string]string
				if err := json.Unmarshal(r.Payload, &p); err != nil {
					t.Fatalf("payload %q: %v", r.Payload, err)
				}
				if r.Kind != "critical" && r.Kind != "exception" {
					t.Errorf("kind %q", r.Kind)
				}
				out = append(out, row{r.Key, p["title"], r.At})
			}
			return out
		}
		cases := []struct {
			name     string
			rows     []row
			wantKeys []string
		}{
			{"since t0", read(e.db.Records("critical", t0)), []string{"am:a/a", "am:a/a later", "am:b/b", "am:c/c"}},
			{"since the start of time", read(e.db.Records("critical", time.Time{})), []string{"am:old/old", "am:a/a", "am:a/a later", "am:b/b", "am:c/c"}},
			{"[t0, t0+2h)", read(e.db.RecordsBetween("critical", t0, t0.Add(2*time.Hour))), []string{"am:a/a", "am:a/a later"}},
			{"exceptions", read(e.db.Records("exception", t0)), []string{"sentry:1/x"}},
			{"a kind never kept", read(e.db.Records("nothing", t0)), nil},
		}
		for _, c := range cases {
			var got []string
			for _, r := range c.rows {
				got = append(got, r.key+"/"+r.title)
			}
			if !reflect.DeepEqual(got, c.wantKeys) {
				t.Errorf("%s: %q, want %q", c.name, got, c.wantKeys)
			}
		}
		if rows := cases[0].rows; len(rows) > 0 && (!rows[0].at.Equal(t0) || rows[0].at.Location() != time.UTC) {
			t.Errorf("first record at %s, want %s in UTC", rows[0].at, t0)
		}
		if err := e.db.AddRecord("", "k", t0, nil); err == nil {
			t.Error("a record without a kind was kept")
		}
	}},
	{"one of 20 racers takes a slot", func(t *testing.T, e *env) {
		wins := race(t, 20, func(int) error {
			took, err := e.db.TakeSlot("digest 2026-11-23T09:00:00Z")
			if err == nil && !took {
				return errLost
			}
			return err
		}, func(err error) bool { return errors.Is(err, errLost) })
		if wins != 1 {
			t.Fatalf("%d racers took the slot, want 1", wins)
		}
		e.reopen(t)
		if took, err := e.db.TakeSlot("digest 2026-11-23T09:00:00Z"); took || err != nil {
			t.Errorf("the slot after a restart: %v, %v; want taken", took, err)
		}
		if took, err := e.db.TakeSlot("digest 2026-11-30T09:00:00Z"); !took || err != nil {
			t.Errorf("next week's slot: %v, %v; want free", took, err)
		}
	}},
	{"a request's commits and an incident's suspect promotion are kept", func(t *testing.T, e *env) {
		commits := []store.CommitInfo{
			{SHA: "0123456789abcdef0123456789abcdef01234567", AuthorLogin: "ana", AuthorName: "Ana Lopez", AuthorEmail: "ana@example.com",
				AuthoredAt: e.clk.Now().Add(-26 * time.Hour), Message: "Fix the cart total"},
			{SHA: "89abcdef0123456789abcdef0123456789abcdef", AuthorName: "Bo", AuthorEmail: "bo@example.com",
				AuthoredAt: e.clk.Now().Add(-3 * time.Hour), Message: "Bump the <version>"},
		}
		r, err := e.db.CreateRequest(store.PromotionRequest{Pipeline: "p1", RequestedBy: "U1", ExpiresAt: e.clk.Now().Add(time.Hour), Commits: commits})
		if err != nil {
			t.Fatal(err)
		}
		bare, err := e.db.CreateRequest(store.PromotionRequest{Pipeline: "p2", RequestedBy: "U1", ExpiresAt: e.clk.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		inc, err := e.db.OpenIncident(store.Incident{Title: "cart broken", Severity: "SEV1", OpenedBy: "U1", SuspectPromotion: r.ID}, "opened")
		if err != nil {
			t.Fatal(err)
		}
		e.reopen(t)
		got, err := e.db.Request(r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Commits) != len(commits) {
			t.Fatalf("commits after a restart: %+v", got.Commits)
		}
		for i := range commits {
			g, w := got.Commits[i], commits[i]
			if g.SHA != w.SHA || g.AuthorLogin != w.AuthorLogin || g.AuthorName != w.AuthorName || g.AuthorEmail != w.AuthorEmail ||
				!g.AuthoredAt.Equal(w.AuthoredAt) || g.Message != w.Message {
				t.Errorf("commit %d = %+v, want %+v", i, g, w)
			}
		}
		if got, err := e.db.Request(bare.ID); err != nil || got.Commits != nil {
			t.Errorf("a request made without commits: %+v, %v; want nil commits", got.Commits, err)
		}
		gotInc, err := e.db.Incident(inc.Number)
		if err != nil || gotInc.SuspectPromotion != r.ID {
			t.Errorf("incident's suspect promotion = %d, %v; want %d", gotInc.SuspectPromotion, err, r.ID)
		}
	}},
}
