package bot

import (
	"context"
	"testing"
	"time"

	"github.com/devy-chatops/devy/internal/fakeslack"
)

// Commit authors are looked up by e-mail once per TTL, whether Slack knows
// them or not; an unknown e-mail is "nobody", not an error.
func TestUsersLookupByEmailIsCached(t *testing.T) {
	fake, _, api := testSlack(t)
	fake.AddUser(fakeslack.User{ID: "U0ERIN0001", Name: "erin", Email: "erin@shop.example"})
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	u := NewUsers(api, time.Hour, func() time.Time { return now })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	lookups := func() int {
		n := 0
		for _, c := range fake.Calls() {
			if c.Method == "users.lookupByEmail" {
				n++
			}
		}
		return n
	}
	tests := []struct {
		name, email, want string
		calls             int
	}{
		{"known", "Erin@shop.example", "U0ERIN0001", 1},
		{"known, cached", "erin@shop.example", "U0ERIN0001", 1},
		{"unknown", "frank@shop.example", "", 2},
		{"unknown, cached", "frank@shop.example", "", 2},
		{"empty", "", "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := u.LookupByEmail(ctx, tt.email)
			if err != nil || got != tt.want {
				t.Fatalf("LookupByEmail(%q) = %q, %v; want %q", tt.email, got, err, tt.want)
			}
			if n := lookups(); n != tt.calls {
				t.Errorf("%d users.lookupByEmail calls, want %d", n, tt.calls)
			}
		})
	}
	now = now.Add(time.Hour)
	if got, err := u.LookupByEmail(ctx, "frank@shop.example"); err != nil || got != "" || lookups() != 3 {
		t.Errorf("after the TTL: %q, %v, %d calls; want a new lookup", got, err, lookups())
	}
}
