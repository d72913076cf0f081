package webhooks

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
	"github.com/devy-chatops/devy/internal/waitfor"
)

// countingBody records how much of it was read, how many readers are in
// Read at once (at most), and blocks each Read until gate is closed.
type countingBody struct {
	r       io.Reader
	read    *atomic.Int64
	inside  *atomic.Int64
	most    *atomic.Int64
	gate    chan struct{}
	entered chan struct{} // closed on the first Read
	once    sync.Once
}

func (b *countingBody) Read(p []byte) (int, error) {
	n := b.inside.Add(1)
	defer b.inside.Add(-1)
	for {
		m := b.most.Load()
		if n <= m || b.most.CompareAndSwap(m, n) {
			break
		}
	}
	b.once.Do(func() { close(b.entered) })
	if b.gate != nil {
		<-b.gate
	}
	k, err := b.r.Read(p)
	b.read.Add(int64(k))
	return k, err
}

func (b *countingBody) Close() error { return nil }

func newCountingBody(size int64, gate chan struct{}) *countingBody {
	return &countingBody{r: io.LimitReader(zeros{}, size), read: new(atomic.Int64), inside: new(atomic.Int64),
		most: new(atomic.Int64), gate: gate, entered: make(chan struct{})}
}

// zeros reads as endless zero bytes: large bodies without their memory.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// A delivery whose signature header is missing or garbled is refused
// before a byte of its body is read: a flood of unsigned POSTs costs no
// body memory.
func TestUnsignedBodyIsNeverRead(t *testing.T) {
	secrets := Secrets{GitHub: "gh", Heroku: "hk", Semaphore: "sem"}
	tests := []struct {
		name, service, header, value string // no header when header is ""
	}{
		{"github unsigned", "github", "", ""},
		{"github not sha256=", "github", "X-Hub-Signature-256", "sha1=" + strings.Repeat("ab", 20)},
		{"github not hex", "github", "X-Hub-Signature-256", "sha256=" + strings.Repeat("zz", 32)},
		{"github short", "github", "X-Hub-Signature-256", "sha256=abcd"},
		{"heroku unsigned", "heroku", "", ""},
		{"heroku not base64", "heroku", "Heroku-Webhook-Hmac-SHA256", "***"},
		{"semaphore unsigned", "semaphore", "", ""},
		{"semaphore not hex", "semaphore", "X-Semaphore-Signature-256", "not hex"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bg := commands.NewBackground(context.Background())
			mux := http.NewServeMux()
			New(secrets, newNotes(), newMemory(), bg, zerolog.Nop()).Register(mux)
			body := newCountingBody(MaxBody, nil)
			req := httptest.NewRequest("POST", "/webhooks/"+tc.service, body)
			req.ContentLength = MaxBody
			req.Header.Set("X-GitHub-Event", "pull_request")
			if tc.header != "" {
				req.Header.Set(tc.header, tc.value)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("answered %d; want 401", rec.Code)
			}
			if n := body.read.Load(); n != 0 {
				t.Errorf("read %d bytes of an unsigned body; want none", n)
			}
		})
	}
}

// However many large deliveries arrive at once, only readBudget bytes of
// bodies are read at a time.
func TestBodiesReadAtOnceAreBounded(t *testing.T) {
	bg := commands.NewBackground(context.Background())
	mux := http.NewServeMux()
	New(Secrets{GitHub: "gh"}, newNotes(), newMemory(), bg, zerolog.Nop()).Register(mux)
	const senders = 3 * readBudget / MaxBody
	gate := make(chan struct{})
	shared := newCountingBody(0, gate)
	var wg sync.WaitGroup
	codes := make([]int, senders)
	for i := range senders {
		body := newCountingBody(MaxBody, gate)
		body.inside, body.most, body.read = shared.inside, shared.most, shared.read
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest("POST", "/webhooks/github", body)
			req.ContentLength = MaxBody
			req.Header.Set(sign("github", "another secret", nil))
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			codes[i] = rec.Code
		}()
	}
	limit := int64(readBudget / MaxBody)
	waitfor.True(t, fmt.Sprintf("%d bodies being read", limit), func() bool { return shared.inside.Load() >= limit })
	close(gate)
	wg.Wait()
	if most := shared.most.Load(); most > limit {
		t.Errorf("%d bodies of %d bytes read at once; want at most %d", most, MaxBody, limit)
	}
	for i, c := range codes {
		if c != http.StatusUnauthorized {
			t.Errorf("sender %d answered %d; want 401 (signed with another secret)", i, c)
		}
	}
	if got, want := shared.read.Load(), int64(senders*MaxBody); got != want {
		t.Errorf("read %d bytes; want every body read (%d)", got, want)
	}
}

// BenchmarkForgedFlood sends 200 concurrent 5 MiB POSTs, half unsigned and
// half signed with another secret, and reports the process's peak RSS
// (VmHWM) while they are handled: the figure to keep under 256 MiB. Run it
// alone, so that nothing else in the process sets the peak:
//
//	go test -run='^$' -bench=ForgedFlood -benchtime=1x ./webhooks
func BenchmarkForgedFlood(b *testing.B) {
	bg := commands.NewBackground(context.Background())
	mux := http.NewServeMux()
	New(Secrets{GitHub: "gh"}, newNotes(), newMemory(), bg, zerolog.Nop()).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 200, MaxConnsPerHost: 0}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	// Peak RSS from here on: clear the high-water mark (Linux ≥ 4.0).
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	var refused atomic.Int64
	for b.Loop() {
		var wg sync.WaitGroup
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("POST", srv.URL+"/webhooks/github", io.LimitReader(zeros{}, MaxBody))
				req.ContentLength = MaxBody
				req.Header.Set("X-GitHub-Event", "pull_request")
				if i%2 == 0 {
					req.Header.Set(sign("github", "another secret", nil))
				}
				resp, err := client.Do(req)
				if err != nil {
					// An unsigned POST is answered before its body is
					// sent, and the server may close on the rest.
					refused.Add(1)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusUnauthorized {
					refused.Add(1)
				}
			}()
		}
		wg.Wait()
	}
	if got := refused.Load(); got != int64(200*b.N) {
		b.Errorf("%d of %d forged POSTs refused", got, 200*b.N)
	}
	hwm, err := peakRSS()
	if err != nil {
		b.Skipf("no peak RSS here: %v", err)
	}
	b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MiB")
}

// peakRSS reads VmHWM from /proc/self/status, in bytes.
func peakRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}
