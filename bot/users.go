package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// Users finds workspace members by e-mail (users.lookupByEmail, scope
// users:read.email) for the commit authors DEVY_USER_MAP does not name.
// Answers are cached, "nobody has that e-mail" too: every staging release
// and every click asks about the same few authors, and users.lookupByEmail
// is a Tier 3 method.
type Users struct {
	api *slack.Client
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex           // guards cache
	cache map[string]userEntry // lower-cased e-mail → answer
}

type userEntry struct {
	id      string // "" when nobody in the workspace has the e-mail
	expires time.Time
}

// NewUsers looks users up through api, keeping each answer for ttl.
func NewUsers(api *slack.Client, ttl time.Duration, now func() time.Time) *Users {
	return &Users{api: api, ttl: ttl, now: now, cache: map[string]userEntry{}}
}

// LookupByEmail returns the id of the member whose e-mail this is, or ""
// when there is none (Slack's users_not_found).
func (u *Users) LookupByEmail(ctx context.Context, email string) (string, error) {
	key := strings.ToLower(strings.TrimSpace(email))
	if key == "" {
		return "", nil
	}
	u.mu.Lock()
	e, ok := u.cache[key]
	u.mu.Unlock()
	if ok && u.now().Before(e.expires) {
		return e.id, nil
	}
	user, err := u.api.GetUserByEmailContext(ctx, key)
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &se) && se.Err == "users_not_found":
		user = &slack.User{}
	case err != nil:
		return "", fmt.Errorf("slack: look up a user by e-mail: %w", err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.cache[key] = userEntry{id: user.ID, expires: u.now().Add(u.ttl)}
	return user.ID, nil
}
