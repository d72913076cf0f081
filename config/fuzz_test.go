package config

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzLoad feeds Load any values for the variables it parses: it must not
// panic, an error names one variable in one line, and a URL it accepts is
// valid UTF-8 (it ends up in regular expressions).
func FuzzLoad(f *testing.F) {
	f.Fuzz(func(t *testing.T, apiURL, channel, approvers, ttl, userMap, port string) {
		env := map[string]string{
			"SLACK_APP_TOKEN": "xapp-1-a", "SLACK_BOT_TOKEN": "xoxb-b",
			"GITHUB_API_URL": apiURL, "DEVY_DEPLOY_CHANNEL": channel, "DEVY_APPROVERS": approvers,
			"DEVY_APPROVAL_TTL": ttl, "DEVY_USER_MAP": userMap, "PORT": port,
		}
		c, err := Load(func(k string) string { return env[k] }, Slack)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || ce.Var == "" {
				t.Fatalf("error names no variable: %v", err)
			}
			if strings.Contains(ce.Var, "\n") {
				t.Fatalf("variable name spans lines: %q", ce.Var)
			}
			return
		}
		if !utf8.ValidString(c.GitHubAPIURL) || !strings.HasSuffix(c.GitHubAPIURL, "/") {
			t.Fatalf("accepted GITHUB_API_URL %q", c.GitHubAPIURL)
		}
		if c.ApprovalTTL <= 0 {
			t.Fatalf("accepted a TTL of %v", c.ApprovalTTL)
		}
	})
}
