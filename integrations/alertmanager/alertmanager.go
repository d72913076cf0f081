// Package alertmanager reads Prometheus Alertmanager's webhook notifications
// (webhook_config, body version "4") and checks the bearer token Devy asks
// Alertmanager to send. What a notification becomes in Slack is decided by
// commands/signals.
package alertmanager

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Status values of a group and of an alert.
const (
	Firing   = "firing"
	Resolved = "resolved"
)

var (
	// ErrUnauthorized means the Authorization header is missing, not a
	// bearer token, or the wrong token.
	ErrUnauthorized = errors.New("alertmanager: missing or wrong bearer token")
	// ErrMalformed means the body is not a version 4 notification.
	ErrMalformed = errors.New("alertmanager: malformed notification")
)

// Notification is one webhook body: a group of alerts.
type Notification struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Alert           `json:"alerts"`
}

// Alert is one alert of the group. Text fields are untrusted.
type Alert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	// EndsAt is the zero time (0001-01-01T00:00:00Z on the wire) while the
	// alert fires.
	EndsAt       time.Time `json:"endsAt"`
	GeneratorURL string    `json:"generatorURL"`
	Fingerprint  string    `json:"fingerprint"`
}

// Firing reports whether the alert fires.
func (a Alert) Firing() bool { return a.Status == Firing }

// Critical reports whether the alert fires with its own severity label
// critical or page. A group's common labels do not count: one critical alert
// among warnings makes the group critical, and a label only on the group
// cannot.
func (a Alert) Critical() bool {
	if !a.Firing() {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(a.Labels["severity"])) {
	case "critical", "page":
		return true
	}
	return false
}

// Critical reports whether any firing alert of the group is critical.
func (n Notification) Critical() bool {
	for _, a := range n.Alerts {
		if a.Critical() {
			return true
		}
	}
	return false
}

// Firing counts the firing alerts; truncated alerts are not known.
func (n Notification) Firing() int {
	c := 0
	for _, a := range n.Alerts {
		if a.Firing() {
			c++
		}
	}
	return c
}

// Name is what people call the group: its alertname, else its group labels.
func (n Notification) Name() string {
	for _, m := range []map[string]string{n.GroupLabels, n.CommonLabels} {
		if v := m["alertname"]; v != "" {
			return v
		}
	}
	if len(n.Alerts) > 0 && n.Alerts[0].Labels["alertname"] != "" {
		return n.Alerts[0].Labels["alertname"]
	}
	if s := Labels(n.GroupLabels); s != "" {
		return s
	}
	return n.GroupKey
}

// Labels renders labels as k=v pairs sorted by key.
func Labels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ", ")
}

// DeliveryKey identifies what the notification says, for deduplication:
// Alertmanager re-sends a group every group_interval after a failure and
// retries 5xx, with the same alerts. It covers the group, its status and
// each alert's fingerprint, status and times; nothing else changes what
// Devy shows.
func (n Notification) DeliveryKey() string {
	h := sha256.New()
	fmt.Fprintf(h, "%q %q\n", n.GroupKey, n.Status)
	lines := make([]string, len(n.Alerts))
	for i, a := range n.Alerts {
		lines[i] = fmt.Sprintf("%q %q %d %d", a.Fingerprint, a.Status, a.StartsAt.UnixNano(), a.EndsAt.UnixNano())
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Fprintln(h, l)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Decode reads a notification. Only version "4" (every Alertmanager since
// 0.x) is accepted, and a group needs its key and a known status.
func Decode(body []byte) (Notification, error) {
	var n Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return Notification{}, fmt.Errorf("decode notification: %w: %v", ErrMalformed, err)
	}
	if n.Version != "4" {
		return Notification{}, fmt.Errorf("decode notification: %w: version %q, want \"4\"", ErrMalformed, n.Version)
	}
	if n.GroupKey == "" {
		return Notification{}, fmt.Errorf("decode notification: %w: no groupKey", ErrMalformed)
	}
	if n.Status != Firing && n.Status != Resolved {
		return Notification{}, fmt.Errorf("decode notification: %w: status %q", ErrMalformed, n.Status)
	}
	return n, nil
}

// CheckBearer checks an Authorization header against the configured token
// in constant time. An empty token refuses everything: the endpoint is off
// without one.
func CheckBearer(authorization, token string) error {
	if token == "" {
		return fmt.Errorf("no token configured: %w", ErrUnauthorized)
	}
	scheme, got, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return fmt.Errorf("the Authorization header is not a bearer token: %w", ErrUnauthorized)
	}
	// Hashing first makes the comparison constant-time in the length too.
	a, b := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return fmt.Errorf("wrong bearer token: %w", ErrUnauthorized)
	}
	return nil
}

// BearerWellFormed reports whether an Authorization header has the shape of
// a bearer token, so the endpoint can refuse before reading the body.
func BearerWellFormed(authorization string) bool {
	scheme, got, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	return ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(got) != ""
}
