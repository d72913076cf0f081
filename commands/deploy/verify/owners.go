package verify

import (
	"context"
	"strings"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/integrations/github"
	"github.com/devy-chatops/devy/store"
)

// Users finds a Slack user by e-mail (Slack's users.lookupByEmail).
type Users interface {
	// LookupByEmail returns the user's id, or "" when nobody in the
	// workspace has that e-mail.
	LookupByEmail(ctx context.Context, email string) (string, error)
}

// Owners finds the Slack users who wrote commits.
type Owners struct {
	userMap map[string]string // GitHub login → Slack user id
	users   Users             // nil: authors are found by the map only
	log     zerolog.Logger
}

// NewOwners finds authors in userMap (DEVY_USER_MAP), then, if users is
// set, by their commit's e-mail.
func NewOwners(userMap map[string]string, users Users, log zerolog.Logger) Owners {
	return Owners{userMap: userMap, users: users, log: log}
}

// Commits keeps what cs are and who wrote them.
func (o Owners) Commits(ctx context.Context, cs []github.Commit) []store.CommitInfo {
	seen := map[string]string{}
	out := make([]store.CommitInfo, 0, len(cs))
	for _, c := range cs {
		out = append(out, store.CommitInfo{SHA: c.SHA, AuthorLogin: c.AuthorLogin, AuthorName: c.AuthorName, AuthorEmail: c.AuthorEmail,
			AuthoredAt: c.AuthoredAt, Message: c.Message, SlackUser: o.owner(ctx, c.AuthorLogin, c.AuthorEmail, seen)})
	}
	return out
}

// owner is the Slack user of a commit's author: DEVY_USER_MAP by GitHub
// login, else the commit's e-mail in the workspace.
func (o Owners) owner(ctx context.Context, login, email string, seen map[string]string) string {
	if u := o.userMap[strings.ToLower(login)]; login != "" && u != "" {
		return u
	}
	if o.users == nil || email == "" || strings.HasSuffix(email, "@users.noreply.github.com") {
		return ""
	}
	if u, ok := seen[email]; ok {
		return u
	}
	u, err := o.users.LookupByEmail(ctx, email)
	if err != nil {
		o.log.Warn().Err(err).Msg("looking up a commit author by e-mail failed; taking them for someone without a Slack user")
	}
	seen[email] = u
	return u
}
