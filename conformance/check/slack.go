package check

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// SlackSpecFile is Slack's Web API OpenAPI 2.0 spec.
const SlackSpecFile = "slack/slack-api-specs/web-api/slack_web_openapi_v2.json"

// Slack checks Web API calls against the OpenAPI spec: the method exists and
// every argument the spec requires is present. The token may come in the
// Authorization header or as the token argument (slack-go sends form
// methods' token as a form field, api-facts.md §1.2).
type Slack struct {
	methods map[string]slackMethod
}

type slackMethod struct {
	args     map[string]bool // argument → required
	scopes   []string
	hasToken bool // the spec lists a token parameter
	tokenReq bool
}

// LoadSlack reads the OpenAPI spec from the corpus folder.
func LoadSlack(corpus string) (*Slack, error) {
	raw, err := os.ReadFile(filepath.Join(corpus, SlackSpecFile))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", SlackSpecFile, err)
	}
	var spec struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name     string `json:"name"`
				In       string `json:"in"`
				Required bool   `json:"required"`
			} `json:"parameters"`
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", SlackSpecFile, err)
	}
	s := &Slack{methods: map[string]slackMethod{}}
	for path, ops := range spec.Paths {
		m := slackMethod{args: map[string]bool{}}
		for _, op := range ops {
			for _, p := range op.Parameters {
				if p.Name == "token" {
					m.hasToken, m.tokenReq = true, m.tokenReq || p.Required
					continue
				}
				m.args[p.Name] = m.args[p.Name] || p.Required
			}
			for _, sec := range op.Security {
				m.scopes = append(m.scopes, sec["slackAuth"]...)
			}
		}
		s.methods[strings.TrimPrefix(path, "/")] = m
	}
	if len(s.methods) == 0 {
		return nil, fmt.Errorf("%s: no paths", SlackSpecFile)
	}
	return s, nil
}

// Has reports whether the spec (or the allowlist) knows a method.
func (s *Slack) Has(method string) bool {
	_, ok := s.methods[method]
	_, allowed := slackAllow(method)
	return ok || allowed
}

// Scopes returns the scopes the spec lists for a method (legacy names in
// places, such as chat:write:bot).
func (s *Slack) Scopes(method string) []string {
	return slices.Clone(s.methods[method].scopes)
}

// Check judges one call: the method name (the URL's last segment), its
// arguments (form fields, query, or a JSON body's top-level keys) and
// whether an Authorization header came with it.
func (s *Slack) Check(method string, args url.Values, authHeader bool) []Violation {
	m, ok := s.methods[method]
	if !ok {
		a, allowed := slackAllow(method)
		if !allowed {
			return []Violation{{SlackSpecFile, "the method must exist in the spec (or the allowlist of newer methods)", method}}
		}
		var out []Violation
		for _, r := range a.Required {
			if !args.Has(r) {
				out = append(out, Violation{a.Source, fmt.Sprintf("%s requires the argument %q", method, r), "missing"})
			}
		}
		if !authHeader && !args.Has("token") {
			out = append(out, Violation{a.Source, method + " requires a token", "no Authorization header and no token argument"})
		}
		return out
	}
	var out []Violation
	if m.tokenReq && !authHeader && !args.Has("token") {
		out = append(out, Violation{SlackSpecFile, method + " requires a token", "no Authorization header and no token argument"})
	}
	names := make([]string, 0, len(m.args))
	for name := range m.args {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if m.args[name] && strings.TrimSpace(args.Get(name)) == "" {
			out = append(out, Violation{SlackSpecFile, fmt.Sprintf("%s requires the argument %q", method, name), "missing or empty"})
		}
	}
	return out
}

// Args turns a JSON body's top-level keys into arguments (objects and
// arrays as their JSON text), the way Slack reads a JSON call.
func Args(body []byte) (url.Values, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	out := url.Values{}
	for k, v := range m {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out.Set(k, s)
			continue
		}
		out.Set(k, string(v))
	}
	return out, nil
}
