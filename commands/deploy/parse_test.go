package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/devy-chatops/devy/integrations/heroku"
	"github.com/devy-chatops/devy/store"
)

func TestParseLockDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30m", 30 * time.Minute, true}, {"2h", 2 * time.Hour, true}, {"1h30m", 90 * time.Minute, true},
		{"1d", 24 * time.Hour, true}, {"7d", 7 * 24 * time.Hour, true},
		{"8d", 0, false}, {"30s", 0, false}, {"2x", 0, false}, {"-1h", 0, false}, {"d", 0, false}, {"", 0, false},
		{"3H", 3 * time.Hour, true}, {"2D", 48 * time.Hour, true}, {"168h", 7 * 24 * time.Hour, true},
		{"213503982335d", 0, false}, {"99999999999999999999d", 0, false}, {"2562047h", 0, false}, {"9223372036854775807m", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseLockDuration(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("parseLockDuration(%q) = %v, %v", tc.in, got, err)
			}
		})
	}
}

// The refusals name what is wrong: the limit, the sign, the unreadable.
func TestLockDurationRefusals(t *testing.T) {
	tests := []struct{ in, want string }{
		{"for 99d", "at most 7 days"},
		{"for 8d", "at most 7 days"},
		{"for 213503982335d", "at most 7 days"},
		{"for 9999999999h", "at most 7 days"},
		{"for -1h", "negative"},
		{"for 30s", "at least a minute"},
		{"for 2x", "couldn't read"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			_, _, err := lockDuration(strings.Fields(tc.in), time.Hour)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("lockDuration(%q) = %v; want a refusal saying %q", tc.in, err, tc.want)
			}
		})
	}
}

func TestLockDuration(t *testing.T) {
	const def = 2 * time.Hour
	tests := []struct {
		in     string
		want   time.Duration
		reason string
		ok     bool
	}{
		{"db upgrade for 1h", time.Hour, "db upgrade", true},
		{"db upgrade for 90 minutes", 90 * time.Minute, "db upgrade", true},
		{"for 2 days", 48 * time.Hour, "", true},
		{"waiting for QA", def, "waiting for QA", true},
		{"waiting for 2 reviewers", def, "waiting for 2 reviewers", true},
		{"release freeze", def, "release freeze", true},
		{"", def, "", true},
		{"for 2x", 0, "", false},
		{"freeze for 9 days", 0, "", false},
		{"freeze FOR 3H", 3 * time.Hour, "freeze", true},
		{"freeze For 3 HOURS", 3 * time.Hour, "freeze", true},
		{"for -1h", 0, "", false},
		{"for -1 hours", 0, "", false},
		{"for 213503982335d", 0, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, rest, err := lockDuration(strings.Fields(tc.in), def)
			if (err == nil) != tc.ok || (tc.ok && (got != tc.want || strings.Join(rest, " ") != tc.reason)) {
				t.Fatalf("lockDuration(%q) = %v, %q, %v; want %v, %q", tc.in, got, rest, err, tc.want, tc.reason)
			}
		})
	}
}

func TestParseSkipCI(t *testing.T) {
	tests := []struct {
		args []string
		want string
		ok   bool
	}{
		{nil, "", true},
		{[]string{"--skip-ci", "hotfix", "for", "outage"}, "hotfix for outage", true},
		{[]string{"--skip-ci"}, "", false},
		{[]string{"now"}, "", false},
	}
	for _, tc := range tests {
		got, err := parseSkipCI(tc.args)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSkipCI(%q) = %q, %v", tc.args, got, err)
		}
	}
}

func TestMergeTargets(t *testing.T) {
	known := []store.Target{{AppID: "a", AppName: "prod"}, {AppID: "b", AppName: "prod-eu"}}
	_, changed, done := mergeTargets(known, []heroku.PromotionTarget{{AppID: "a", Status: "pending"}, {AppID: "b", Status: "pending"}})
	if changed || done {
		t.Errorf("pending → pending: changed=%v done=%v", changed, done)
	}
	out, changed, done := mergeTargets(known, []heroku.PromotionTarget{{AppID: "a", Status: "succeeded", ReleaseID: "r1"}, {AppID: "b", Status: "pending"}})
	if !changed || done || out[0].Status != "succeeded" || out[0].ReleaseID != "r1" || known[0].Status != "" {
		t.Errorf("one succeeded: %+v changed=%v done=%v (and the input must not change)", out, changed, done)
	}
	out, _, done = mergeTargets(out, []heroku.PromotionTarget{{AppID: "a", Status: "succeeded", ReleaseID: "r1"}, {AppID: "b", Status: "failed", ErrorMessage: "no access"}})
	if !done || out[1].Error != "no access" {
		t.Errorf("all done: %+v done=%v", out, done)
	}
	if _, _, done := mergeTargets(known, nil); done {
		t.Error("no targets yet must not count as done")
	}
}
