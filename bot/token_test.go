package bot

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/devy-chatops/devy/commands"
)

// Token mistakes that Slack refuses when the socket opens stop the bot at
// once, with one line naming the variable and the fix: slack-go would
// retry missing_scope and not_allowed_token_type for ever.
func TestAppTokenMistakesStopTheBot(t *testing.T) {
	tests := []struct {
		name   string
		answer map[string]any // apps.connections.open's answer, as Slack sends it
		want   string
	}{
		{"missing scope", map[string]any{"ok": false, "error": "missing_scope", "needed": "connections:write", "provided": "authorizations:read"},
			"SLACK_APP_TOKEN: Slack refused the app-level token (missing_scope): give it the connections:write scope under Basic Information → App-Level Tokens, then restart Devy"},
		{"not an app-level token", map[string]any{"ok": false, "error": "not_allowed_token_type"},
			"SLACK_APP_TOKEN: Slack refused the token (not_allowed_token_type): Socket Mode needs an app-level token (xapp-…) with connections:write, not a bot or user token"},
		{"invalid auth", map[string]any{"ok": false, "error": "invalid_auth"},
			"SLACK_APP_TOKEN: Slack refused the app-level token (invalid_auth)"},
		{"revoked", map[string]any{"ok": false, "error": "token_revoked"},
			"SLACK_APP_TOKEN: Slack refused the app-level token (token_revoked)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var opens atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/apps.connections.open" || r.Header.Get("Authorization") != "Bearer xapp-1-test" {
					t.Errorf("unexpected request %s %s (auth %q)", r.Method, r.URL.Path, r.Header.Get("Authorization"))
					http.NotFound(w, r)
					return
				}
				opens.Add(1)
				w.Header().Set("Content-Type", "application/json")
				json.NewEncoder(w).Encode(tc.answer)
			}))
			defer srv.Close()
			api := slack.New("xoxb-test", slack.OptionAppLevelToken("xapp-1-test"), slack.OptionAPIURL(srv.URL+"/api/"))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			bg := commands.NewBackground(ctx)
			b := New(Open(ctx, socketmode.New(api)), NewSlack(api), commands.NewRouter(), bg, time.Minute, zerolog.Nop())
			err := b.Run(ctx)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Run = %v; want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("not one line: %q", err)
			}
			if n := opens.Load(); n != 1 {
				t.Errorf("apps.connections.open asked %d times; want once", n)
			}
			if ctx.Err() != nil {
				t.Errorf("Run waited for its deadline")
			}
		})
	}
}
