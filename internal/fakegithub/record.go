package fakegithub

import (
	"net/http"
	"strings"
)

// Call is one request the server received.
type Call struct {
	Method   string
	Path     string // as sent on the wire, still escaped (feature%2Fx stays so)
	RawQuery string
	Header   http.Header
	Body     []byte
}

// failure is one injected answer waiting for its request.
type failure struct {
	method, path string
	status       int
	header       http.Header
	body         string
}

// pathMatches compares a pattern with a request path. A pattern ending in
// "*" matches any path with that prefix. Both the escaped and the decoded
// form of the path are tried, so callers need not know which one they hold.
func pathMatches(pattern, escaped, decoded string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(escaped, prefix) || strings.HasPrefix(decoded, prefix)
	}
	return pattern == escaped || pattern == decoded
}

// methodMatches treats "" and "*" as any method.
func methodMatches(pattern, method string) bool {
	return pattern == "" || pattern == "*" || strings.EqualFold(pattern, method)
}
