package semaphore

import (
	"encoding/json"
	"testing"
)

// FuzzTimestamp reads any JSON value as a time: never an error, never a
// panic, whatever Semaphore (or a proxy in front of it) sends.
func FuzzTimestamp(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		var ts timestamp
		if err := ts.UnmarshalJSON(raw); err != nil {
			t.Fatalf("UnmarshalJSON(%q): %v", raw, err)
		}
		var p struct {
			At timestamp `json:"at"`
		}
		_ = json.Unmarshal(append(append([]byte(`{"at":`), raw...), '}'), &p)
	})
}
