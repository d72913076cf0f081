package alertmanager

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecode(t *testing.T) {
	tests := []struct {
		file     string
		status   string
		firing   int
		critical bool
	}{
		{"firing-warning.json", Firing, 1, false},
		{"firing-critical.json", Firing, 2, true},
		{"resolved.json", Resolved, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			n, err := Decode(read(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if n.Status != tt.status || n.Firing() != tt.firing || n.Critical() != tt.critical {
				t.Fatalf("status %s firing %d critical %v, want %s %d %v", n.Status, n.Firing(), n.Critical(), tt.status, tt.firing, tt.critical)
			}
			if n.GroupKey != `{}/{severity=~"critical|page|warning"}:{alertname="HighErrorRate"}` || n.Name() != "HighErrorRate" || n.Receiver != "devy" {
				t.Fatalf("group %q name %q receiver %q", n.GroupKey, n.Name(), n.Receiver)
			}
			a := n.Alerts[0]
			if a.Fingerprint != "5c1e2d3a4b6f7081" || a.StartsAt.IsZero() || a.Annotations["summary"] != "HighErrorRate on web-1" {
				t.Fatalf("first alert = %+v", a)
			}
			if a.Firing() != a.EndsAt.Equal(time.Time{}) {
				t.Fatalf("a firing alert ends at the zero time: %v %v", a.Status, a.EndsAt)
			}
		})
	}
}

func TestCritical(t *testing.T) {
	al := func(status, sev string) Alert {
		return Alert{Status: status, Labels: map[string]string{"severity": sev}}
	}
	tests := []struct {
		name string
		n    Notification
		want bool
	}{
		{"one critical among warnings", Notification{Alerts: []Alert{al(Firing, "warning"), al(Firing, "critical")}}, true},
		{"page counts as critical", Notification{Alerts: []Alert{al(Firing, "Page")}}, true},
		{"a resolved critical does not", Notification{Alerts: []Alert{al(Resolved, "critical"), al(Firing, "warning")}}, false},
		{"a common label alone does not", Notification{CommonLabels: map[string]string{"severity": "critical"}, Alerts: []Alert{al(Firing, "")}}, false},
		{"no alerts", Notification{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.n.Critical(); got != tt.want {
				t.Fatalf("Critical = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":       "{",
		"version 3":      `{"version":"3","groupKey":"g","status":"firing"}`,
		"no group key":   `{"version":"4","status":"firing"}`,
		"unknown status": `{"version":"4","groupKey":"g","status":"pending"}`,
		"labels not map": `{"version":"4","groupKey":"g","status":"firing","alerts":[{"labels":[1]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode([]byte(body)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestDeliveryKey(t *testing.T) {
	a, _ := Decode(read(t, "firing-critical.json"))
	b, _ := Decode(read(t, "firing-critical.json"))
	b.Alerts[0], b.Alerts[1] = b.Alerts[1], b.Alerts[0]
	b.Receiver = "other"
	if a.DeliveryKey() != b.DeliveryKey() {
		t.Fatal("the same alerts in another order have another key")
	}
	r, _ := Decode(read(t, "resolved.json"))
	if a.DeliveryKey() == r.DeliveryKey() {
		t.Fatal("resolving the group keeps its key")
	}
}

func TestCheckBearer(t *testing.T) {
	tests := []struct {
		name, header, token string
		ok                  bool
	}{
		{"right token", "Bearer t0ken", "t0ken", true},
		{"scheme in any case", "bearer t0ken", "t0ken", true},
		{"wrong token", "Bearer t0ke", "t0ken", false},
		{"basic auth", "Basic dDBrZW4=", "t0ken", false},
		{"no header", "", "t0ken", false},
		{"no token configured", "Bearer ", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckBearer(tt.header, tt.token)
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrUnauthorized)) {
				t.Fatalf("CheckBearer = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, name := range []string{"firing-warning.json", "firing-critical.json", "resolved.json"} {
		f.Add(read(f, name))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := Decode(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if n.GroupKey == "" || n.Name() == "" {
			t.Fatal("accepted a group with no key or name")
		}
		_ = n.Critical()
		_ = n.DeliveryKey()
	})
}
