package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/devy-chatops/devy/conformance/check"
)

// The manifest's schema, and Slack's own valid and invalid examples of it
// (which show that the validator really validates).
const (
	manifestSchemaFile = "slack/manifest-schema/manifest.schema.json"
	manifestV1File     = "slack/manifest-schema/schemas/manifest.schema.1.0.0.json"
	manifestV2File     = "slack/manifest-schema/schemas/manifest.schema.2.0.0.json"
	manifestValidFile  = "slack/manifest-schema/manifest.v1.valid.example.json"
	manifestBadFile    = "slack/manifest-schema/manifest.v1.invalid.example.json"
	// manifest.schema.json refers to the versioned schemas by these URLs.
	manifestV1URL = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/manifest.schema.1.0.0.json"
	manifestV2URL = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/manifest.schema.2.0.0.json"
)

// botScopes is, for each Web API method Devy may call, the bot scopes any
// one of which lets it: Slack's method pages (granular bot scope names; the
// 2021 OpenAPI spec still lists legacy ones such as chat:write:bot) and
// api-facts.md §2 and §9. "" means the method needs no scope; "app-token"
// that it takes the app-level token (connections:write), which is not part
// of the manifest.
var botScopes = map[string][]string{
	"apps.connections.open":        {"app-token"},
	"auth.test":                    {""},
	"chat.postMessage":             {"chat:write"},
	"chat.update":                  {"chat:write"},
	"chat.postEphemeral":           {"chat:write"},
	"chat.getPermalink":            {""},
	"conversations.info":           {"channels:read", "groups:read"},
	"conversations.replies":        {"channels:history", "groups:history"},
	"conversations.create":         {"channels:manage", "groups:write"},
	"conversations.invite":         {"channels:manage", "groups:write"},
	"conversations.join":           {"channels:join"},
	"usergroups.users.list":        {"usergroups:read"},
	"users.info":                   {"users:read"},
	"users.lookupByEmail":          {"users:read.email"},
	"reactions.add":                {"reactions:write"},
	"reactions.get":                {"reactions:read"},
	"views.open":                   {""},
	"views.update":                 {""},
	"views.push":                   {""},
	"views.publish":                {""},
	"files.getUploadURLExternal":   {"files:write"},
	"files.completeUploadExternal": {"files:write"},
}

// slackGoMethods maps slack-go's client functions to the Web API methods
// they call (slack-go v0.35.0 sources).
var slackGoMethods = map[string][]string{
	"AuthTest":                  {"auth.test"},
	"PostMessage":               {"chat.postMessage"},
	"SendMessage":               {"chat.postMessage"},
	"UpdateMessage":             {"chat.update"},
	"PostEphemeral":             {"chat.postEphemeral"},
	"GetPermalink":              {"chat.getPermalink"},
	"GetConversationInfo":       {"conversations.info"},
	"GetConversationReplies":    {"conversations.replies"},
	"CreateConversation":        {"conversations.create"},
	"InviteUsersToConversation": {"conversations.invite"},
	"JoinConversation":          {"conversations.join"},
	"GetUserGroupMembers":       {"usergroups.users.list"},
	"GetUserInfo":               {"users.info"},
	"GetUserByEmail":            {"users.lookupByEmail"},
	"AddReaction":               {"reactions.add"},
	"GetReactions":              {"reactions.get"},
	"OpenView":                  {"views.open"},
	"UpdateView":                {"views.update"},
	"PushView":                  {"views.push"},
	"PublishView":               {"views.publish"},
	"UploadFile":                {"files.getUploadURLExternal", "files.completeUploadExternal"},
}

// manifestScopes validates manifest.yml against Slack's schema and returns
// its bot scopes.
func manifestScopes(t *testing.T) []string {
	t.Helper()
	corpus := check.Corpus(t)
	c := jsonschema.NewCompiler()
	c.UseRegexpEngine(lookaheadRegexp)
	for file, url := range map[string]string{manifestV1File: manifestV1URL, manifestV2File: manifestV2URL, manifestSchemaFile: "manifest.schema.json"} {
		doc := readJSONDoc(t, filepath.Join(corpus, file))
		if err := c.AddResource(url, doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	schema, err := c.Compile("manifest.schema.json")
	if err != nil {
		t.Fatalf("%s: compiling: %v", manifestSchemaFile, err)
	}
	// Slack's own examples first: a validator that passes everything
	// would prove nothing.
	if err := schema.Validate(readJSONDoc(t, filepath.Join(corpus, manifestValidFile))); err != nil {
		t.Fatalf("%s: Slack's valid example fails: %v", manifestValidFile, err)
	}
	if err := schema.Validate(readJSONDoc(t, filepath.Join(corpus, manifestBadFile))); err == nil {
		t.Fatalf("%s: Slack's invalid example passes", manifestBadFile)
	}

	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "manifest.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var m any
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatalf("manifest.yml: %v", err)
	}
	asJSON, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("manifest.yml: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(asJSON))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Errorf("manifest.yml breaks %s: %v", manifestSchemaFile, err)
	}
	var parsed struct {
		OAuth struct {
			Scopes struct {
				Bot []string `json:"bot"`
			} `json:"scopes"`
		} `json:"oauth_config"`
	}
	if err := json.Unmarshal(asJSON, &parsed); err != nil {
		t.Fatal(err)
	}
	return parsed.OAuth.Scopes.Bot
}

// lookaheadRegexp is Go's regexp plus the one construct Slack's schema
// uses that Go lacks: a leading negative lookahead, ^(?!X)rest (domain
// patterns that must not start with "." or "-"), checked as "X does not
// match at the start, and ^rest matches".
func lookaheadRegexp(pattern string) (jsonschema.Regexp, error) {
	if re, err := regexp.Compile(pattern); err == nil {
		return re, nil
	}
	m := leadingLookahead.FindStringSubmatch(pattern)
	if m == nil {
		return nil, fmt.Errorf("pattern %q: only a leading negative lookahead is supported beyond Go's syntax", pattern)
	}
	not, err := regexp.Compile("^(?:" + m[1] + ")")
	if err != nil {
		return nil, err
	}
	rest, err := regexp.Compile("^" + m[2])
	if err != nil {
		return nil, err
	}
	return lookahead{pattern: pattern, not: not, rest: rest}, nil
}

var leadingLookahead = regexp.MustCompile(`^\^\(\?!((?:\\.|[^()])*)\)(.*)$`)

type lookahead struct {
	pattern   string
	not, rest *regexp.Regexp
}

func (l lookahead) MatchString(s string) bool { return !l.not.MatchString(s) && l.rest.MatchString(s) }
func (l lookahead) String() string            { return l.pattern }

func readJSONDoc(t *testing.T, path string) any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return doc
}

// uncovered returns the methods whose scopes the manifest lacks, each with
// what it needs.
func uncovered(methods, scopes []string) []string {
	var out []string
	for _, m := range methods {
		need, ok := botScopes[m]
		switch {
		case !ok:
			out = append(out, m+": not in this test's scope table (add it, from the method's page)")
		case need[0] == "" || need[0] == "app-token":
		case !slices.ContainsFunc(need, func(s string) bool { return slices.Contains(scopes, s) }):
			out = append(out, m+" needs one of "+strings.Join(need, ", "))
		}
	}
	return out
}

// clientCall finds calls on Devy's slack-go client: the client is held as
// api (main wiring) or s.api (the bot's Slack adapter).
var clientCall = regexp.MustCompile(`\bapi\.([A-Z]\w*?)(?:Context)?\(`)

// codeMethods greps the repository's non-test Go code (without the test
// servers, the benchmark tools and this suite) for slack-go client calls,
// and returns the Web API methods they make. Socket Mode always calls
// apps.connections.open.
func codeMethods(t *testing.T) []string {
	t.Helper()
	root := repoRoot(t)
	set := map[string]bool{"apps.connections.open": true}
	var unknown []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			// internal/app holds the wiring; internal/fake* are test servers.
			if rel == "conformance" || rel == "bench" || strings.HasPrefix(filepath.ToSlash(rel), "internal/fake") || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !bytes.Contains(src, []byte(`"github.com/slack-go/slack"`)) {
			return nil
		}
		for _, m := range clientCall.FindAllStringSubmatch(string(src), -1) {
			methods, ok := slackGoMethods[m[1]]
			if !ok {
				unknown = append(unknown, rel+": "+m[1])
				continue
			}
			for _, x := range methods {
				set[x] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(unknown) > 0 {
		t.Errorf("slack-go calls this test does not know (add them to slackGoMethods): %v", unknown)
	}
	out := make([]string, 0, len(set))
	for m := range set {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// TestManifest validates manifest.yml against Slack's app-manifest schema,
// and checks that its bot scopes cover every Web API method the code calls
// (the wire tests check the methods the binary really called).
func TestManifest(t *testing.T) {
	scopes := manifestScopes(t)
	methods := codeMethods(t)
	if len(methods) < 5 {
		t.Fatalf("found only %v in the code: the grep no longer finds Devy's Slack client", methods)
	}
	spec, err := check.LoadSlack(check.Corpus(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range methods {
		if !spec.Has(m) {
			t.Errorf("%s: the code calls %s, which is in neither the spec nor the allowlist", check.SlackSpecFile, m)
		}
	}
	for _, miss := range uncovered(methods, scopes) {
		t.Errorf("manifest.yml: the code calls %s", miss)
	}
	t.Logf("the code calls %d Web API methods: %v", len(methods), methods)
}

// repoRoot is the folder holding go.mod, above this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
}

func TestManifestHelpers(t *testing.T) {
	re, err := lookaheadRegexp(`^(?![\.\-])([-a-z0-9\.])+([a-z0-9])$`)
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{"example.com": true, ".example.com": false, "-x.com": false, "x.com-": false} {
		if got := re.MatchString(s); got != want {
			t.Errorf("domain pattern on %q: got %v, want %v", s, got, want)
		}
	}
	got := uncovered([]string{"chat.postMessage", "users.lookupByEmail", "views.open", "apps.connections.open", "made.up"}, []string{"chat:write"})
	want := []string{"users.lookupByEmail needs one of users:read.email", "made.up: not in this test's scope table (add it, from the method's page)"}
	if !slices.Equal(got, want) {
		t.Errorf("uncovered: got %q, want %q", got, want)
	}
}
