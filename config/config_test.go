package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func base() map[string]string {
	return map[string]string{"SLACK_APP_TOKEN": "xapp-1-secret-app", "SLACK_BOT_TOKEN": "xoxb-secret-bot"}
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(envOf(base()), Slack)
	if err != nil {
		t.Fatal(err)
	}
	if c.SlackAPIURL != "https://slack.com/api/" || c.HerokuAPIURL != "https://api.heroku.com" || c.GitHubAPIURL != "https://api.github.com/" {
		t.Errorf("API defaults: %q %q %q", c.SlackAPIURL, c.HerokuAPIURL, c.GitHubAPIURL)
	}
	if c.DBPath != "devy.db" || c.DeployChannel != "devy" || c.CriticalChannel != "critical" || c.PRChannel != "general" {
		t.Errorf("defaults: %+v", c)
	}
	if c.IncidentQuiet != 30*time.Minute || c.PostmortemAfter != 48*time.Hour {
		t.Errorf("incident reminder defaults: %v %v", c.IncidentQuiet, c.PostmortemAfter)
	}
	if c.Digest != "mon 09:00" || c.Location() != time.UTC || c.MetricsToken != "" {
		t.Errorf("digest and metrics defaults: %q %v %q", c.Digest, c.Location(), c.MetricsToken)
	}
	if c.SuspectWindow != 2*time.Hour || c.SentryClientSecret != "" || c.AlertmanagerToken != "" || c.SentryProject != "" {
		t.Errorf("signal defaults: %v %v %v %q", c.SuspectWindow, c.SentryClientSecret, c.AlertmanagerToken, c.SentryProject)
	}
	if c.ApprovalTTL != 30*time.Minute || c.AllowSelfApproval || c.ApproverNotAuthor || c.LogFormat != "json" {
		t.Errorf("policy defaults: %+v", c)
	}
}

func TestLoadErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name string
		set  map[string]string
		mode Mode
		want string
	}{
		{"app token missing", map[string]string{"SLACK_APP_TOKEN": ""}, Slack, "SLACK_APP_TOKEN"},
		{"app token wrong kind", map[string]string{"SLACK_APP_TOKEN": "xoxb-nope"}, Slack, "SLACK_APP_TOKEN"},
		{"bot token missing", map[string]string{"SLACK_BOT_TOKEN": ""}, Slack, "SLACK_BOT_TOKEN"},
		{"bot token wrong kind", map[string]string{"SLACK_BOT_TOKEN": "xapp-nope"}, Slack, "SLACK_BOT_TOKEN"},
		{"slack url", map[string]string{"SLACK_API_URL": "not a url"}, Slack, "SLACK_API_URL"},
		{"heroku url", map[string]string{"HEROKU_API_URL": "ftp://x"}, Slack, "HEROKU_API_URL"},
		{"heroku pipeline", map[string]string{"HEROKU_API_TOKEN": "h"}, Slack, "HEROKU_PIPELINE"},
		{"github repo", map[string]string{"GITHUB_REPOSITORY": "just-a-name"}, Slack, "GITHUB_REPOSITORY"},
		{"semaphore url", map[string]string{"SEMAPHORE_API_TOKEN": "s", "SEMAPHORE_PROJECT_ID": "p"}, Slack, "SEMAPHORE_URL"},
		{"semaphore project", map[string]string{"SEMAPHORE_API_TOKEN": "s", "SEMAPHORE_URL": "https://acme.semaphoreci.com"}, Slack, "SEMAPHORE_PROJECT_ID"},
		{"approvers", map[string]string{"DEVY_APPROVERS": "alice"}, Slack, "DEVY_APPROVERS"},
		{"admins", map[string]string{"DEVY_ADMINS": "S123"}, Slack, "DEVY_ADMINS"},
		{"admins in the shell, not a shell name", map[string]string{"DEVY_ADMINS": "<@bob>"}, Shell, "DEVY_ADMINS"},
		{"approvers in the shell, not a shell name", map[string]string{"DEVY_APPROVERS": "bob,carol!"}, Shell, "DEVY_APPROVERS"},
		{"self approval", map[string]string{"DEVY_ALLOW_SELF_APPROVAL": "maybe"}, Slack, "DEVY_ALLOW_SELF_APPROVAL"},
		{"not author", map[string]string{"DEVY_APPROVER_NOT_AUTHOR": "yes please"}, Slack, "DEVY_APPROVER_NOT_AUTHOR"},
		{"not author without GitHub", map[string]string{"DEVY_APPROVER_NOT_AUTHOR": "true"}, Slack, "DEVY_APPROVER_NOT_AUTHOR"},
		{"ttl", map[string]string{"DEVY_APPROVAL_TTL": "soon"}, Slack, "DEVY_APPROVAL_TTL"},
		{"ttl negative", map[string]string{"DEVY_APPROVAL_TTL": "-5m"}, Slack, "DEVY_APPROVAL_TTL"},
		{"port", map[string]string{"PORT": "eighty"}, Slack, "PORT"},
		{"incident quiet", map[string]string{"DEVY_INCIDENT_QUIET": "0s"}, Slack, "DEVY_INCIDENT_QUIET"},
		{"postmortem after", map[string]string{"DEVY_POSTMORTEM_AFTER": "two days"}, Slack, "DEVY_POSTMORTEM_AFTER"},
		{"suspect window", map[string]string{"DEVY_SUSPECT_WINDOW": "two hours"}, Slack, "DEVY_SUSPECT_WINDOW"},
		{"suspect window zero", map[string]string{"DEVY_SUSPECT_WINDOW": "0"}, Slack, "DEVY_SUSPECT_WINDOW"},
		{"user map", map[string]string{"DEVY_USER_MAP": "octocat"}, Slack, "DEVY_USER_MAP"},
		{"database url", map[string]string{"DATABASE_URL": "mysql://x"}, Slack, "DATABASE_URL"},
		{"log level", map[string]string{"LOG_LEVEL": "loud"}, Slack, "LOG_LEVEL"},
		{"log level as a number", map[string]string{"LOG_LEVEL": "5"}, Slack, "LOG_LEVEL"},
		{"log level disabled", map[string]string{"LOG_LEVEL": "disabled"}, Slack, "LOG_LEVEL"},
		{"heroku token missing", map[string]string{"HEROKU_PIPELINE": "shop"}, Slack, "HEROKU_API_TOKEN"},
		{"github repo missing", map[string]string{"GITHUB_TOKEN": "g"}, Slack, "GITHUB_REPOSITORY"},
		{"semaphore token missing", map[string]string{"SEMAPHORE_URL": "https://acme.semaphoreci.com", "SEMAPHORE_PROJECT_ID": "p"}, Slack, "SEMAPHORE_API_TOKEN"},
		{"semaphore project without token", map[string]string{"SEMAPHORE_PROJECT_ID": "p"}, Shell, "SEMAPHORE_API_TOKEN"},
		{"deploy channel empty", map[string]string{"DEVY_DEPLOY_CHANNEL": "#"}, Slack, "DEVY_DEPLOY_CHANNEL"},
		{"critical channel with a space", map[string]string{"DEVY_CRITICAL_CHANNEL": "on call"}, Slack, "DEVY_CRITICAL_CHANNEL"},
		{"log format", map[string]string{"LOG_FORMAT": "xml"}, Slack, "LOG_FORMAT"},
		{"time zone unknown", map[string]string{"DEVY_TIMEZONE": "Mars/Olympus"}, Slack, "DEVY_TIMEZONE"},
		{"time zone as a path", map[string]string{"DEVY_TIMEZONE": "../../etc/passwd"}, Slack, "DEVY_TIMEZONE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := base()
			for k, v := range tc.set {
				env[k] = v
			}
			_, err := Load(envOf(env), tc.mode)
			var ce *Error
			if !errors.As(err, &ce) || ce.Var != tc.want {
				t.Fatalf("got %v, want an error naming %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			for _, secret := range []string{"secret-app", "secret-bot"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error leaks a token: %q", err)
				}
			}
		})
	}
}

// A token in the wrong variable is named with the fix, before Slack is
// asked: some of Slack's refusals would be retried for ever.
func TestSlackTokenMistakes(t *testing.T) {
	tests := []struct {
		name, app, bot string
		wantVar, want  string
	}{
		{"swapped", "xoxb-secret-bot", "xapp-1-secret-app", "SLACK_APP_TOKEN", "these two look swapped"},
		{"bot token in both", "xoxb-secret-bot", "xoxb-secret-bot", "SLACK_APP_TOKEN", "which belongs in SLACK_BOT_TOKEN"},
		{"app token in both", "xapp-1-secret-app", "xapp-1-secret-app", "SLACK_BOT_TOKEN", "which belongs in SLACK_APP_TOKEN"},
		{"user token as the bot token", "xapp-1-secret-app", "xoxp-secret-user", "SLACK_BOT_TOKEN", "a user token"},
		{"legacy token as the app token", "xoxa-secret", "xoxb-secret-bot", "SLACK_APP_TOKEN", "starting with xapp-"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(envOf(map[string]string{"SLACK_APP_TOKEN": tc.app, "SLACK_BOT_TOKEN": tc.bot}), Slack)
			var ce *Error
			if !errors.As(err, &ce) || ce.Var != tc.wantVar || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want an error naming %s that says %q", err, tc.wantVar, tc.want)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "\n") {
				t.Errorf("not one clean line: %q", err)
			}
		})
	}
}

// In the shell a user's id is the name `as NAME` takes, so admins and
// approvers are named that way (Slack ids still read, as names).
func TestShellPeopleByName(t *testing.T) {
	c, err := Load(envOf(map[string]string{"DEVY_ADMINS": "bob, @carol", "DEVY_APPROVERS": "dave U123"}), Shell)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(c.Admins) != "[bob carol]" || fmt.Sprint(c.Approvers) != "[dave U123]" {
		t.Errorf("admins %v, approvers %v", c.Admins, c.Approvers)
	}
}

func TestShellNeedsNoTokens(t *testing.T) {
	if _, err := Load(envOf(map[string]string{}), Shell); err != nil {
		t.Fatalf("shell without tokens: %v", err)
	}
}

func TestLoadParsesLists(t *testing.T) {
	env := base()
	env["DEVY_APPROVERS"] = "U1, S2 U3,W4"
	env["DEVY_ADMINS"] = "U9"
	env["DEVY_USER_MAP"] = "Octocat:U1,hubot:U2"
	env["DEVY_APPROVAL_TTL"] = "45m"
	env["SLACK_API_URL"] = "http://127.0.0.1:9/api"
	env["DEVY_DEPLOY_CHANNEL"] = "#deploys"
	c, err := Load(envOf(env), Slack)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(c.Approvers) != "[U1 S2 U3 W4]" || fmt.Sprint(c.Admins) != "[U9]" {
		t.Errorf("lists: %v %v", c.Approvers, c.Admins)
	}
	if c.UserMap["octocat"] != "U1" || c.UserMap["hubot"] != "U2" {
		t.Errorf("user map: %v", c.UserMap)
	}
	if c.ApprovalTTL != 45*time.Minute || c.SlackAPIURL != "http://127.0.0.1:9/api/" || c.DeployChannel != "deploys" {
		t.Errorf("parsed: %v %q %q", c.ApprovalTTL, c.SlackAPIURL, c.DeployChannel)
	}
}

func TestSecretNeverPrintsItsValue(t *testing.T) {
	s := Secret("xoxb-very-secret")
	for _, out := range []string{s.String(), fmt.Sprint(s), fmt.Sprintf("%v %s %#v", s, s, s)} {
		if strings.Contains(out, "very-secret") {
			t.Fatalf("secret printed: %q", out)
		}
	}
	b, _ := s.MarshalText()
	if strings.Contains(string(b), "very-secret") {
		t.Fatalf("secret marshalled: %q", b)
	}
	if s.Value() != "xoxb-very-secret" {
		t.Fatal("Value lost the token")
	}
}

// Every URL variable is checked the same way, with a one-line error naming
// it; invalid UTF-8 used to reach a regular expression and panic at start.
func TestURLVariables(t *testing.T) {
	vars := []string{"SLACK_API_URL", "HEROKU_API_URL", "GITHUB_API_URL", "SEMAPHORE_URL"}
	tests := []struct {
		name, value string
		ok          bool
	}{
		{"https", "https://api.example.com/", true},
		{"http with a port and a path", "http://127.0.0.1:8080/api/v3", true},
		{"unicode host", "https://exämple.com/", true},
		{"invalid UTF-8 in the host", "https://api.git\xffhub.com/", false},
		{"invalid UTF-8 in the path", "https://api.github.com/\xc3\x28", false},
		{"not a URL", "not a url", false},
		{"no scheme", "api.github.com", false},
		{"ftp", "ftp://example.com/", false},
		{"no host", "https:///api", false},
		{"opaque", "https:example.com", false},
		{"space in the host", "https://exa mple.com/", false},
		{"control character", "https://example.com/\x7f", false},
		{"bad escape", "https://example.com/%zz", false},
		{"bad port", "https://example.com:port/", false},
		{"credentials, not echoed", "ftp://user:hunter2@example.com/", false},
	}
	for _, name := range vars {
		for _, tc := range tests {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				env := base()
				env[name] = tc.value
				if name == "SEMAPHORE_URL" {
					env["SEMAPHORE_API_TOKEN"], env["SEMAPHORE_PROJECT_ID"] = "s", "p"
				}
				_, err := Load(envOf(env), Slack)
				if tc.ok {
					if err != nil {
						t.Fatalf("%q refused: %v", tc.value, err)
					}
					return
				}
				var ce *Error
				if !errors.As(err, &ce) || ce.Var != name {
					t.Fatalf("got %v; want an error naming %s", err, name)
				}
				msg := err.Error()
				if strings.Contains(msg, "\n") || !utf8.ValidString(msg) || strings.Contains(msg, "hunter2") {
					t.Errorf("error is not one clean line: %q", msg)
				}
			})
		}
	}
}

func TestDatabaseURLInvalidUTF8(t *testing.T) {
	env := base()
	env["DATABASE_URL"] = "postgres://db\xff/devy"
	var ce *Error
	if _, err := Load(envOf(env), Slack); !errors.As(err, &ce) || ce.Var != "DATABASE_URL" {
		t.Fatalf("got %v; want an error naming DATABASE_URL", err)
	}
}

// DEVY_TIMEZONE takes IANA names; the binary embeds the zone database, so
// this works without one on the machine.
func TestLoadTimeZone(t *testing.T) {
	env := base()
	env["DEVY_TIMEZONE"] = "Europe/Paris"
	c, err := Load(envOf(env), Slack)
	if err != nil {
		t.Fatal(err)
	}
	if c.Location().String() != "Europe/Paris" {
		t.Errorf("time zone %v; want Europe/Paris", c.Location())
	}
}
