// Package config reads Devy's twelve-factor configuration from the
// environment once, at start, into one typed value. Every variable is the one
// product.md documents; a missing or malformed one is reported in one line
// naming the variable and what it expects.
package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
)

// Secret holds a token. It prints as a short fingerprint so that a token that
// slips into a log line or a message reveals nothing.
type Secret string

// Value is the token itself, for the one place that sends it.
func (s Secret) Value() string { return string(s) }

// String prints a fingerprint, never the value.
func (s Secret) String() string {
	if s == "" {
		return "(unset)"
	}
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:4])
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return s.String() }

// MarshalZerologObject-free: zerolog uses Stringer for Interface/Stringer
// fields; MarshalText covers JSON encoders too.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Config is everything Devy reads from its environment.
type Config struct {
	SlackAppToken Secret
	SlackBotToken Secret
	SlackAPIURL   string

	HerokuToken    Secret
	HerokuAPIURL   string
	HerokuPipeline string

	GitHubToken      Secret
	GitHubRepository string // owner/repo
	GitHubAPIURL     string

	SemaphoreToken     Secret
	SemaphoreURL       string
	SemaphoreProjectID string

	DBPath          string
	DatabaseURL     Secret // carries a password
	DeployChannel   string
	CriticalChannel string
	PRChannel       string

	Approvers         []string // U… user ids or S… user-group ids
	Admins            []string
	AllowSelfApproval bool
	ApproverNotAuthor bool
	// RequireVerified refuses Approve while a commit in the range is not
	// verified on staging (DEVY_REQUIRE_VERIFIED).
	RequireVerified bool
	ApprovalTTL     time.Duration

	IncidentQuiet   time.Duration // an open incident this long without a timeline entry gets a reminder
	PostmortemAfter time.Duration // a resolved incident this long without a postmortem gets a reminder

	Port string

	GitHubWebhookSecret    Secret
	HerokuWebhookSecret    Secret
	SemaphoreWebhookSecret Secret

	// Signals: Sentry's and Alertmanager's webhooks (off while unset).
	SentryClientSecret Secret        // verifies Sentry-Hook-Signature; enables POST /webhooks/sentry
	SentryProject      string        // a Sentry project slug; "" takes every project
	AlertmanagerToken  Secret        // the bearer token Alertmanager sends; enables POST /webhooks/alertmanager
	SuspectWindow      time.Duration // how long after a promotion a signal points back to it

	UserMap map[string]string // github login → Slack user id

	// Digest is DEVY_DIGEST as given ("mon 09:00", "off"); commands/stats
	// parses it, and internal/app stops at start naming the variable when
	// it cannot.
	Digest string
	// TimeZone is DEVY_TIMEZONE: when the digest goes out and how times and
	// periods are counted. Never nil after Load.
	TimeZone *time.Location

	// MetricsToken is DEVY_METRICS_TOKEN: GET /metrics is served only when
	// it is set, to requests bearing it.
	MetricsToken Secret

	LogLevel  zerolog.Level
	LogFormat string // json or console
}

// Location is the team's time zone (DEVY_TIMEZONE), UTC when unset.
func (c Config) Location() *time.Location {
	if c.TimeZone == nil {
		return time.UTC
	}
	return c.TimeZone
}

// HerokuConfigured reports whether Devy talks to a real (or configured) Heroku.
func (c Config) HerokuConfigured() bool { return c.HerokuToken != "" }

// GitHubConfigured reports whether a GitHub repository is set up.
func (c Config) GitHubConfigured() bool { return c.GitHubRepository != "" }

// SemaphoreConfigured reports whether Semaphore gates promotions.
func (c Config) SemaphoreConfigured() bool { return c.SemaphoreToken != "" }

// Error names the variable that is wrong and what it expects.
type Error struct {
	Var    string
	Expect string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Var, e.Expect) }

// Mode says which variables must be present.
type Mode int

const (
	// Slack is the real bot: Slack tokens are required.
	Slack Mode = iota
	// Shell is the local chat: no tokens are required.
	Shell
)

// Load reads the configuration through getenv (os.Getenv in production).
func Load(getenv func(string) string, mode Mode) (Config, error) {
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		SlackAppToken:          Secret(env("SLACK_APP_TOKEN", "")),
		SlackBotToken:          Secret(env("SLACK_BOT_TOKEN", "")),
		SlackAPIURL:            env("SLACK_API_URL", "https://slack.com/api/"),
		HerokuToken:            Secret(env("HEROKU_API_TOKEN", "")),
		HerokuAPIURL:           env("HEROKU_API_URL", "https://api.heroku.com"),
		HerokuPipeline:         env("HEROKU_PIPELINE", ""),
		GitHubToken:            Secret(env("GITHUB_TOKEN", "")),
		GitHubRepository:       env("GITHUB_REPOSITORY", ""),
		GitHubAPIURL:           env("GITHUB_API_URL", "https://api.github.com/"),
		SemaphoreToken:         Secret(env("SEMAPHORE_API_TOKEN", "")),
		SemaphoreURL:           env("SEMAPHORE_URL", ""),
		SemaphoreProjectID:     env("SEMAPHORE_PROJECT_ID", ""),
		DBPath:                 env("DEVY_DB_PATH", "devy.db"),
		DatabaseURL:            Secret(env("DATABASE_URL", "")),
		DeployChannel:          strings.TrimPrefix(env("DEVY_DEPLOY_CHANNEL", "devy"), "#"),
		CriticalChannel:        strings.TrimPrefix(env("DEVY_CRITICAL_CHANNEL", "critical"), "#"),
		PRChannel:              strings.TrimPrefix(env("DEVY_PR_CHANNEL", "general"), "#"),
		Port:                   env("PORT", ""),
		GitHubWebhookSecret:    Secret(env("GITHUB_WEBHOOK_SECRET", "")),
		HerokuWebhookSecret:    Secret(env("HEROKU_WEBHOOK_SECRET", "")),
		SemaphoreWebhookSecret: Secret(env("SEMAPHORE_WEBHOOK_SECRET", "")),
		SentryClientSecret:     Secret(env("SENTRY_CLIENT_SECRET", "")),
		SentryProject:          env("SENTRY_PROJECT", ""),
		AlertmanagerToken:      Secret(env("DEVY_ALERTMANAGER_TOKEN", "")),
		LogFormat:              env("LOG_FORMAT", "json"),
		Digest:                 strings.ToLower(env("DEVY_DIGEST", "mon 09:00")),
		MetricsToken:           Secret(env("DEVY_METRICS_TOKEN", "")),
	}

	if mode == Slack {
		if err := checkSlackTokens(c.SlackAppToken.Value(), c.SlackBotToken.Value()); err != nil {
			return c, err
		}
	}
	for _, u := range []struct{ name, val string }{
		{"SLACK_API_URL", c.SlackAPIURL}, {"HEROKU_API_URL", c.HerokuAPIURL}, {"GITHUB_API_URL", c.GitHubAPIURL},
	} {
		if err := checkURL(u.name, u.val); err != nil {
			return c, err
		}
	}
	if !strings.HasSuffix(c.SlackAPIURL, "/") {
		// slack-go joins the base and the method name by concatenation.
		c.SlackAPIURL += "/"
	}
	if !strings.HasSuffix(c.GitHubAPIURL, "/") {
		c.GitHubAPIURL += "/"
	}
	if c.HerokuToken != "" && c.HerokuPipeline == "" {
		return c, &Error{"HEROKU_PIPELINE", "required when HEROKU_API_TOKEN is set: the pipeline's name or id"}
	}
	// Half an integration is a mistake, not a choice: without its token
	// Devy would quietly leave it out (and, for Semaphore, promote without
	// checking CI).
	if c.HerokuPipeline != "" && c.HerokuToken == "" {
		return c, &Error{"HEROKU_API_TOKEN", "required when HEROKU_PIPELINE is set: a Heroku Platform API token"}
	}
	if c.GitHubToken != "" && c.GitHubRepository == "" {
		return c, &Error{"GITHUB_REPOSITORY", "required when GITHUB_TOKEN is set: owner/repo, for example acme/shop"}
	}
	if c.SemaphoreToken == "" && (c.SemaphoreURL != "" || c.SemaphoreProjectID != "") {
		return c, &Error{"SEMAPHORE_API_TOKEN", "required when SEMAPHORE_URL or SEMAPHORE_PROJECT_ID is set: without it promotions would not check CI"}
	}
	if c.GitHubRepository != "" {
		parts := strings.Split(c.GitHubRepository, "/")
		if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			return c, &Error{"GITHUB_REPOSITORY", "expected owner/repo, for example acme/shop"}
		}
	}
	if c.SemaphoreToken != "" {
		if c.SemaphoreURL == "" {
			return c, &Error{"SEMAPHORE_URL", "required when SEMAPHORE_API_TOKEN is set: the organisation URL, for example https://acme.semaphoreci.com"}
		}
		if c.SemaphoreProjectID == "" {
			return c, &Error{"SEMAPHORE_PROJECT_ID", "required when SEMAPHORE_API_TOKEN is set: the id of the project whose pipelines gate promotion"}
		}
	}
	if c.SemaphoreURL != "" {
		if err := checkURL("SEMAPHORE_URL", c.SemaphoreURL); err != nil {
			return c, err
		}
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL.Value())
		if !utf8.ValidString(c.DatabaseURL.Value()) || err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return c, &Error{"DATABASE_URL", "expected a postgres:// URL"}
		}
	}

	for _, ch := range []struct{ name, val string }{
		{"DEVY_DEPLOY_CHANNEL", c.DeployChannel}, {"DEVY_CRITICAL_CHANNEL", c.CriticalChannel}, {"DEVY_PR_CHANNEL", c.PRChannel},
	} {
		if ch.val == "" || strings.ContainsAny(ch.val, " \t#,") {
			return c, &Error{ch.name, "expected a channel name such as devy (with or without #) or a channel id"}
		}
	}

	var err error
	people := idList
	if mode == Shell {
		people = shellPeople
	}
	if c.Approvers, err = people("DEVY_APPROVERS", getenv("DEVY_APPROVERS"), "UWS"); err != nil { // W…: Enterprise Grid users
		return c, err
	}
	if c.Admins, err = people("DEVY_ADMINS", getenv("DEVY_ADMINS"), "UW"); err != nil {
		return c, err
	}
	if c.AllowSelfApproval, err = boolVar("DEVY_ALLOW_SELF_APPROVAL", getenv("DEVY_ALLOW_SELF_APPROVAL")); err != nil {
		return c, err
	}
	if c.RequireVerified, err = boolVar("DEVY_REQUIRE_VERIFIED", getenv("DEVY_REQUIRE_VERIFIED")); err != nil {
		return c, err
	}
	if c.ApproverNotAuthor, err = boolVar("DEVY_APPROVER_NOT_AUTHOR", getenv("DEVY_APPROVER_NOT_AUTHOR")); err != nil {
		return c, err
	}
	if c.ApproverNotAuthor && c.GitHubRepository == "" {
		return c, &Error{"DEVY_APPROVER_NOT_AUTHOR", "needs GITHUB_REPOSITORY (and GITHUB_TOKEN): without GitHub I can't tell who wrote the commits"}
	}
	if c.ApprovalTTL, err = durationVar("DEVY_APPROVAL_TTL", getenv("DEVY_APPROVAL_TTL"), 30*time.Minute); err != nil {
		return c, err
	}
	if c.IncidentQuiet, err = durationVar("DEVY_INCIDENT_QUIET", getenv("DEVY_INCIDENT_QUIET"), 30*time.Minute); err != nil {
		return c, err
	}
	if c.PostmortemAfter, err = durationVar("DEVY_POSTMORTEM_AFTER", getenv("DEVY_POSTMORTEM_AFTER"), 48*time.Hour); err != nil {
		return c, err
	}
	if c.SuspectWindow, err = durationVar("DEVY_SUSPECT_WINDOW", getenv("DEVY_SUSPECT_WINDOW"), 2*time.Hour); err != nil {
		return c, err
	}
	if c.Port != "" {
		p, err := strconv.Atoi(c.Port)
		if err != nil || p < 1 || p > 65535 {
			return c, &Error{"PORT", "expected a TCP port number between 1 and 65535"}
		}
	}
	if c.UserMap, err = userMap(getenv("DEVY_USER_MAP")); err != nil {
		return c, err
	}
	if c.TimeZone, err = timeZone(env("DEVY_TIMEZONE", "UTC")); err != nil {
		return c, err
	}
	c.LogLevel = zerolog.InfoLevel
	if v := strings.TrimSpace(getenv("LOG_LEVEL")); v != "" {
		// By name only: zerolog also takes numbers and "disabled", which
		// silence the log.
		lvl, ok := map[string]zerolog.Level{"trace": zerolog.TraceLevel, "debug": zerolog.DebugLevel, "info": zerolog.InfoLevel,
			"warn": zerolog.WarnLevel, "error": zerolog.ErrorLevel}[strings.ToLower(v)]
		if !ok {
			return c, &Error{"LOG_LEVEL", "expected one of trace, debug, info, warn, error"}
		}
		c.LogLevel = lvl
	}
	if c.LogFormat != "json" && c.LogFormat != "console" {
		return c, &Error{"LOG_FORMAT", "expected json or console"}
	}
	return c, nil
}

// checkSlackTokens checks the two Slack tokens by their prefixes, which
// Slack gives each kind: a token of the wrong kind would only be refused
// when the socket opens, and some refusals (not_allowed_token_type) would
// be retried for ever.
func checkSlackTokens(app, bot string) error {
	switch {
	case app == "":
		return &Error{"SLACK_APP_TOKEN", "required: the app-level token (xapp-…) with connections:write, for Socket Mode"}
	case strings.HasPrefix(app, "xoxb-") && strings.HasPrefix(bot, "xapp-"):
		return &Error{"SLACK_APP_TOKEN", "holds a bot token (xoxb-…) and SLACK_BOT_TOKEN an app-level token (xapp-…): these two look swapped"}
	case !strings.HasPrefix(app, "xapp-"):
		return &Error{"SLACK_APP_TOKEN", "expected an app-level token starting with xapp-" + tokenKind(app, "SLACK_BOT_TOKEN")}
	case bot == "":
		return &Error{"SLACK_BOT_TOKEN", "required: the bot token (xoxb-…)"}
	case !strings.HasPrefix(bot, "xoxb-"):
		return &Error{"SLACK_BOT_TOKEN", "expected a bot token starting with xoxb-" + tokenKind(bot, "SLACK_APP_TOKEN")}
	}
	return nil
}

// tokenKind names the kind of a token in the wrong place, and where it
// belongs if Devy has a place for it.
func tokenKind(token, other string) string {
	switch {
	case strings.HasPrefix(token, "xoxb-") && other == "SLACK_BOT_TOKEN":
		return ", got a bot token (xoxb-…), which belongs in SLACK_BOT_TOKEN"
	case strings.HasPrefix(token, "xapp-") && other == "SLACK_APP_TOKEN":
		return ", got an app-level token (xapp-…), which belongs in SLACK_APP_TOKEN"
	case strings.HasPrefix(token, "xoxp-"):
		return ", got a user token (xoxp-…), which Devy does not use"
	}
	return ""
}

// checkURL refuses anything but an absolute http(s) URL with a host, in
// valid UTF-8: the URLs end up in regular expressions and links, and
// invalid UTF-8 would otherwise panic at start.
func checkURL(name, v string) error {
	if !utf8.ValidString(v) {
		return &Error{name, "expected an http(s) URL in valid UTF-8, got " + strconv.QuoteToASCII(v)}
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return &Error{name, "expected an http(s) URL with a host, got " + quoteURL(v, u)}
	}
	return nil
}

// quoteURL quotes v for an error, unless it carries a password.
func quoteURL(v string, u *url.URL) string {
	if u != nil && u.User != nil {
		return "a URL with a user name or password in it"
	}
	return strconv.QuoteToASCII(v)
}

func durationVar(name, v string, def time.Duration) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, &Error{name, "expected a positive duration such as 30m or 2h"}
	}
	return d, nil
}

func boolVar(name, v string) (bool, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, &Error{name, "expected true or false"}
	}
	return b, nil
}

// idList parses comma- or space-separated Slack ids whose first letter is one
// of prefixes.
func idList(name, v, prefixes string) ([]string, error) {
	var ids []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
		if len(f) < 2 || !strings.ContainsRune(prefixes, rune(f[0])) || strings.ToUpper(f) != f {
			return nil, &Error{name, fmt.Sprintf("expected Slack ids starting with %s separated by commas, got %q", strings.Join(strings.Split(prefixes, ""), " or "), f)}
		}
		ids = append(ids, f)
	}
	return ids, nil
}

// shellNameRE is a name the shell's `as NAME` gives a user: in the shell a
// user's id is that name, so that admin and approver paths can be tried with
// DEVY_ADMINS=bob. It matches the mentions the shell recognises (@bob).
var shellNameRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$`)

// shellPeople reads DEVY_ADMINS or DEVY_APPROVERS in the shell, where people
// are named as `as NAME` names them (bob or @bob); Slack ids are names there
// too, so a configuration copied from the bot still reads.
func shellPeople(name, v, _ string) ([]string, error) {
	var ids []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
		id := strings.TrimPrefix(f, "@")
		if !shellNameRE.MatchString(id) {
			return nil, &Error{name, fmt.Sprintf("expected shell user names such as bob (the names `as NAME` takes) separated by commas, got %q", f)}
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func userMap(v string) (map[string]string, error) {
	m := map[string]string{}
	for _, pair := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
		login, id, ok := strings.Cut(pair, ":")
		if !ok || login == "" || len(id) < 2 || (id[0] != 'U' && id[0] != 'W') {
			return nil, &Error{"DEVY_USER_MAP", fmt.Sprintf("expected github-login:U123 pairs separated by commas, got %q", pair)}
		}
		m[strings.ToLower(login)] = id
	}
	return m, nil
}

// timeZone loads an IANA zone name. The binary embeds the zone database
// (main imports time/tzdata), so this works on a dyno without one.
func timeZone(name string) (*time.Location, error) {
	// A path would make LoadLocation read an arbitrary file.
	if strings.ContainsAny(name, `\`) || strings.HasPrefix(name, "/") || strings.Contains(name, "..") || strings.EqualFold(name, "local") {
		return nil, &Error{"DEVY_TIMEZONE", fmt.Sprintf("expected an IANA time zone such as Europe/Paris or UTC, got %q", name)}
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, &Error{"DEVY_TIMEZONE", fmt.Sprintf("expected an IANA time zone such as Europe/Paris or UTC, got %q", name)}
	}
	return loc, nil
}
