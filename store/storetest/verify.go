package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/devy-chatops/devy/store"
)

// commits of pipeline p1: two of alice's, one of bob's, one nobody owns.
var verifyCommits = []store.CommitOwner{{SHA: "a1", Owner: "UALICE"}, {SHA: "a2", Owner: "UALICE"}, {SHA: "b1", Owner: "UBOB"}, {SHA: "x1"}}

var verifyCases = []testCase{
	{"a user verifies their own commits, the unowned ones once, never others'", func(t *testing.T, e *env) {
		steps := []struct {
			name string
			in   store.VerifyInput
			want []string // SHAs verified now
		}{
			{"alice without vouching", store.VerifyInput{Pipeline: "p1", User: "UALICE", Commits: verifyCommits}, []string{"a1", "a2"}},
			{"alice again", store.VerifyInput{Pipeline: "p1", User: "UALICE", Vouch: true, Commits: verifyCommits}, []string{"x1"}},
			{"alice has nothing left", store.VerifyInput{Pipeline: "p1", User: "UALICE", Vouch: true, Commits: verifyCommits}, nil},
			{"carol owns nothing", store.VerifyInput{Pipeline: "p1", User: "UCAROL", Vouch: true, Commits: verifyCommits}, nil},
			{"an admin for bob", store.VerifyInput{Pipeline: "p1", User: "UBOB", Actor: "UADMIN", Commits: verifyCommits}, []string{"b1"}},
			{"another pipeline keeps its own", store.VerifyInput{Pipeline: "p2", User: "UBOB", Commits: verifyCommits}, []string{"b1"}},
		}
		for _, s := range steps {
			got, err := e.db.Verify(s.in)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			var shas []string
			for _, v := range got {
				shas = append(shas, v.SHA)
			}
			if !slices.Equal(shas, s.want) {
				t.Fatalf("%s: verified %v, want %v", s.name, shas, s.want)
			}
		}
		e.reopen(t)
		vs, err := e.db.Verifications("p1", []string{"a1", "b1", "x1", "zz"})
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 3 || vs["x1"].By != "UALICE" || !vs["x1"].Vouched || vs["b1"].Actor != "UADMIN" || vs["a1"].Vouched || !vs["a1"].At.Equal(e.clk.Now()) {
			t.Fatalf("verifications after a restart = %+v", vs)
		}
		log, err := e.db.AuditLog(10, "commits.verified")
		if err != nil || len(log) != 4 {
			t.Fatalf("audit = %+v, %v; want 4 entries", log, err)
		}
		if log[1].Actor != "UADMIN" || log[1].Detail["for"] != "UBOB" {
			t.Fatalf("the admin's verification is recorded as %+v", log[1])
		}
	}},
	{"concurrent vouches: each commit is verified once", func(t *testing.T, e *env) {
		users := []string{"U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8"}
		wins := race(t, len(users), func(i int) error {
			got, err := e.db.Verify(store.VerifyInput{Pipeline: "p1", User: users[i], Vouch: true, Commits: []store.CommitOwner{{SHA: "x1"}, {SHA: "x2"}}})
			if err == nil && len(got) == 0 {
				return errLost
			}
			if err == nil && len(got) != 2 {
				return errors.New("a click verified half the commits")
			}
			return err
		}, func(err error) bool { return errors.Is(err, errLost) })
		if wins != 1 {
			t.Fatalf("%d clicks verified something, want 1", wins)
		}
	}},
	{"a verification needs a pipeline and a user", func(t *testing.T, e *env) {
		if _, err := e.db.Verify(store.VerifyInput{Pipeline: "p1"}); err == nil {
			t.Fatal("a verification without a user was kept")
		}
	}},
}
