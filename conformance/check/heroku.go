package check

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// HerokuSchemaFile is Heroku's Platform API hyper-schema, as vendored by
// heroku-go.
const HerokuSchemaFile = "heroku/platform-api/schema.json"

// Heroku checks requests against the hyper-schema's links: each link is a
// method, an href template whose {(…)} placeholders name the identity a
// path segment holds, and, for requests with a body, the body's schema.
type Heroku struct {
	root  map[string]any
	links []herokuLink
}

type herokuLink struct {
	method, href string
	re           *regexp.Regexp
	params       []string // the placeholders' JSON pointers, in order
	schema       map[string]any
	def          string // the definition the link belongs to, for messages
}

var herokuPlaceholder = regexp.MustCompile(`\{\(([^)]*)\)\}`)

// LoadHeroku reads the hyper-schema from the corpus folder.
func LoadHeroku(corpus string) (*Heroku, error) {
	raw, err := os.ReadFile(filepath.Join(corpus, HerokuSchemaFile))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", HerokuSchemaFile, err)
	}
	h := &Heroku{}
	if err := json.Unmarshal(raw, &h.root); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", HerokuSchemaFile, err)
	}
	defs, _ := h.root["definitions"].(map[string]any)
	names := make([]string, 0, len(defs))
	for name := range defs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		def, _ := defs[name].(map[string]any)
		links, _ := def["links"].([]any)
		for _, l := range links {
			lm, _ := l.(map[string]any)
			href, _ := lm["href"].(string)
			method, _ := lm["method"].(string)
			link := herokuLink{method: strings.ToUpper(method), href: href, def: name}
			link.schema, _ = lm["schema"].(map[string]any)
			pattern := "^"
			rest := href
			for {
				loc := herokuPlaceholder.FindStringSubmatchIndex(rest)
				if loc == nil {
					pattern += regexp.QuoteMeta(rest)
					break
				}
				pattern += regexp.QuoteMeta(rest[:loc[0]]) + "([^/]+)"
				ptr, err := url.PathUnescape(rest[loc[2]:loc[3]])
				if err != nil {
					return nil, fmt.Errorf("%s: link %s %s: placeholder %q: %w", HerokuSchemaFile, method, href, rest[loc[2]:loc[3]], err)
				}
				link.params = append(link.params, ptr)
				rest = rest[loc[1]:]
			}
			link.re = regexp.MustCompile(pattern + "$")
			h.links = append(h.links, link)
		}
	}
	if len(h.links) == 0 {
		return nil, fmt.Errorf("%s: no links found", HerokuSchemaFile)
	}
	return h, nil
}

// Links reports how many links the schema has (a sanity check for tests).
func (h *Heroku) Links() int { return len(h.links) }

// Check judges one request: method and escaped path (as sent, without the
// query), and the JSON body ("" or nil when there is none).
func (h *Heroku) Check(method, escapedPath string, body []byte) []Violation {
	method = strings.ToUpper(method)
	for _, a := range HerokuAllowed {
		if a.Method == method && a.Path.MatchString(escapedPath) {
			return nil
		}
	}
	var pathMatched []herokuLink
	var segErrs []Violation
	for _, l := range h.links {
		m := l.re.FindStringSubmatch(escapedPath)
		if m == nil {
			continue
		}
		if l.method != method {
			pathMatched = append(pathMatched, l)
			continue
		}
		// Literal links (/users/~/…) win over templates: the ranges of
		// a template's segment are checked only when nothing literal matched.
		var bad []Violation
		for i, ptr := range l.params {
			seg, err := url.PathUnescape(m[i+1])
			if err != nil {
				bad = append(bad, Violation{HerokuSchemaFile, "a path segment must be a valid escape", m[i+1]})
				continue
			}
			if !h.identityMatches(ptr, seg) {
				bad = append(bad, Violation{HerokuSchemaFile, fmt.Sprintf("link %s %s: segment %d must be %s", l.method, l.href, i+1, ptr), seg})
			}
		}
		if len(bad) > 0 {
			segErrs = append(segErrs, bad...)
			continue
		}
		if l.schema == nil {
			if len(body) > 0 && strings.TrimSpace(string(body)) != "" && method != "GET" && method != "DELETE" {
				return []Violation{{HerokuSchemaFile, fmt.Sprintf("link %s %s takes no body", l.method, l.href), clip(string(body))}}
			}
			return nil
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return []Violation{{HerokuSchemaFile, fmt.Sprintf("link %s %s: the body must be JSON", l.method, l.href), err.Error()}}
		}
		var out []Violation
		h.checkValue(fmt.Sprintf("%s %s", l.method, l.href), "body", l.schema, v, &out, 0)
		return out
	}
	if len(segErrs) > 0 {
		return segErrs
	}
	if len(pathMatched) > 0 {
		var ms []string
		for _, l := range pathMatched {
			ms = append(ms, l.method)
		}
		return []Violation{{HerokuSchemaFile, "the path exists only with methods " + strings.Join(ms, ", "), method + " " + escapedPath}}
	}
	return []Violation{{HerokuSchemaFile, "every request must match a link (method and href)", method + " " + escapedPath}}
}

// resolve follows $ref pointers (#/definitions/…) to the schema they name.
func (h *Heroku) resolve(s map[string]any) map[string]any {
	for i := 0; i < 20 && s != nil; i++ {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		s = h.pointer(ref)
	}
	return s
}

func (h *Heroku) pointer(ref string) map[string]any {
	ref = strings.TrimPrefix(ref, "#")
	var cur any = h.root
	for _, part := range strings.Split(strings.Trim(ref, "/"), "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	out, _ := cur.(map[string]any)
	return out
}

// identityMatches reports whether a path segment fits the identity a
// placeholder names: one of its anyOf alternatives (an id is a uuid, a name
// follows its pattern). Identities with no format or pattern take anything.
func (h *Heroku) identityMatches(ptr, seg string) bool {
	s := h.pointer(ptr)
	if s == nil {
		return true
	}
	return h.stringFits(s, seg, 0)
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func (h *Heroku) stringFits(s map[string]any, v string, depth int) bool {
	s = h.resolve(s)
	if s == nil || depth > 10 {
		return true
	}
	if alts, ok := s["anyOf"].([]any); ok {
		for _, a := range alts {
			am, _ := a.(map[string]any)
			if h.stringFits(am, v, depth+1) {
				return true
			}
		}
		return false
	}
	if f, _ := s["format"].(string); f == "uuid" && !uuidRE.MatchString(v) {
		return false
	}
	if p, ok := s["pattern"].(string); ok {
		if re, err := regexp.Compile(p); err == nil && !re.MatchString(v) {
			return false
		}
	}
	return true
}

// checkValue checks v against schema s: its type, an object's required
// properties and its property names, an array's items, recursively.
func (h *Heroku) checkValue(link, where string, s map[string]any, v any, out *[]Violation, depth int) {
	s = h.resolve(s)
	if s == nil || depth > 20 {
		return
	}
	if alts, ok := s["anyOf"].([]any); ok {
		for _, a := range alts {
			am, _ := a.(map[string]any)
			var sub []Violation
			h.checkValue(link, where, am, v, &sub, depth+1)
			if len(sub) == 0 {
				return
			}
		}
		*out = append(*out, Violation{HerokuSchemaFile, fmt.Sprintf("link %s: %s must match one of its anyOf schemas", link, where), clip(jsonString(v))})
		return
	}
	if types := schemaTypes(s); len(types) > 0 && !slices.Contains(types, jsonType(v)) &&
		!(jsonType(v) == "integer" && slices.Contains(types, "number")) {
		*out = append(*out, Violation{HerokuSchemaFile, fmt.Sprintf("link %s: %s must be of type %s", link, where, strings.Join(types, " or ")), jsonType(v)})
		return
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		req, _ := s["required"].([]any)
		for _, r := range req {
			name, _ := r.(string)
			if _, ok := v[name]; !ok {
				*out = append(*out, Violation{HerokuSchemaFile, fmt.Sprintf("link %s: %s must have the required property %q", link, where, name), "missing"})
			}
		}
		names := make([]string, 0, len(v))
		for k := range v {
			names = append(names, k)
		}
		sort.Strings(names)
		_, patterned := s["patternProperties"]
		for _, k := range names {
			ps, known := props[k].(map[string]any)
			switch {
			case known:
				h.checkValue(link, where+"."+k, ps, v[k], out, depth+1)
			case props != nil && !patterned && !HerokuAllowedProperty(link, where+"."+k):
				*out = append(*out, Violation{HerokuSchemaFile, fmt.Sprintf("link %s: %s has no property %q", link, where, k), clip(jsonString(v[k]))})
			}
		}
	case []any:
		items, _ := s["items"].(map[string]any)
		for i, it := range v {
			h.checkValue(link, fmt.Sprintf("%s[%d]", where, i), items, it, out, depth+1)
		}
	case string:
		if !h.stringFits(s, v, depth) {
			*out = append(*out, Violation{HerokuSchemaFile, fmt.Sprintf("link %s: %s must match its format or pattern", link, where), clip(v)})
		}
	}
}

func schemaTypes(s map[string]any) []string {
	switch t := s["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			if str, ok := x.(string); ok {
				out = append(out, str)
			}
		}
		return out
	}
	return nil
}

func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if v == float64(int64(v)) {
			return "integer"
		}
		return "number"
	case json.Number:
		if _, err := v.Int64(); err == nil {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func clip(s string) string {
	if r := []rune(s); len(r) > 120 {
		return string(r[:120]) + "…"
	}
	return s
}
