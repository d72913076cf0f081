package bot

import (
	"encoding/json"
	"net/http"
)

// Health answers GET /healthz: 200 while the Slack socket is connected and
// the store answers, 503 otherwise, with a small JSON body saying which.
func Health(connected func() bool, storeOK func() error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := map[string]string{"slack": "connected", "store": "ok"}
		status := http.StatusOK
		if !connected() {
			body["slack"] = "disconnected"
			status = http.StatusServiceUnavailable
		}
		if err := storeOK(); err != nil {
			body["store"] = "unavailable"
			status = http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	})
}
