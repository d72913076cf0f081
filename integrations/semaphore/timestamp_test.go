package semaphore

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimestamp(t *testing.T) {
	want := time.Date(2019, 10, 14, 18, 31, 32, 507034000, time.UTC)
	tests := []struct {
		name, json string
		want       time.Time
	}{
		{"seconds and nanos", `{"seconds": 1571077892, "nanos": 507034000}`, want},
		{"seconds as string", `{"seconds": "1571077892", "nanos": 507034000}`, want},
		{"describe string", `"2019-10-14 18:31:32.507034Z"`, want},
		{"webhook RFC 3339", `"2019-10-14T18:31:32.507034Z"`, want},
		{"RFC 3339 with offset", `"2019-10-14T20:31:32.507034+02:00"`, want},
		{"epoch string", `"1571077892"`, want.Truncate(time.Second)},
		{"epoch number", `1571077892`, want.Truncate(time.Second)},
		{"unset object", `{"seconds": 0, "nanos": 0}`, time.Time{}},
		{"unset string", `"1970-01-01 00:00:00.000000Z"`, time.Time{}},
		{"null", `null`, time.Time{}},
		{"empty", `""`, time.Time{}},
		{"unknown format", `"yesterday"`, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v struct {
				T timestamp `json:"t"`
			}
			if err := json.Unmarshal([]byte(`{"t":`+tt.json+`}`), &v); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if got := time.Time(v.T); !got.Equal(tt.want) || got.IsZero() != tt.want.IsZero() {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
