// Package webhooks receives GitHub's, Heroku's and Semaphore's webhooks:
// HTTP only. Each endpoint checks the size and the signature of a delivery,
// recognises redeliveries, decodes the payload into one of commands' small
// typed events and answers at once; telling Slack happens in the
// background, through the Notifier: the deliveries about one pull request
// (or one branch's pipelines) one after another, in the order they came.
// Deliveries already handled are remembered in the store (Deliveries), by
// their delivery id and by a hash of their event and body: the services'
// delivery ids are not signed, so the same signed body replayed under a new
// id is recognised too, and a restart forgets nothing. A delivery whose
// work failed is forgotten, so that a redelivery of it is handled again.
//
//	POST /webhooks/github     X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>
//	POST /webhooks/heroku     Heroku-Webhook-Hmac-SHA256: <base64 HMAC-SHA256 of the body>
//	POST /webhooks/semaphore  X-Semaphore-Signature-256: <hex HMAC-SHA256 of the body>
//
// Answers: 200 accepted (or a redelivery, posted once), 204 an event Devy
// does nothing with, 400 a payload it cannot read, 401 a missing or wrong
// signature (nothing is posted), 413 a body over 5 MiB, 503 too many bodies
// being read at once or the store unable to record the delivery, 404 an endpoint whose secret is not configured (it is
// not mounted at all).
//
// A missing or garbled signature header is refused before the body is
// read, and the bodies read at once are bounded in bytes: a flood of large
// unsigned or wrongly signed POSTs costs a bounded amount of memory.
package webhooks

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/semaphore"

	"github.com/devy-chatops/devy/commands"
)

// MaxBody is the largest payload accepted. GitHub caps its payloads at
// 25 MB but pull_request events are a few tens of KB; Heroku's and
// Semaphore's are smaller still.
const MaxBody = 5 << 20

// readBudget bounds the bytes of the bodies being read at once, before
// their signature is checked: eight bodies of the largest size keep the
// memory of a flood of forged 5 MiB POSTs well under a 512 MB dyno's,
// while the services' few-kilobyte deliveries hardly ever wait.
const readBudget = 8 * MaxBody

// readWait is how long a delivery waits for its turn to be read before it
// is answered 503.
const readWait = 10 * time.Second

// Notifier is what the webhooks tell about (commands/notify.Notifier). Its
// methods run in the background, after the service was answered.
type Notifier interface {
	PullRequest(ctx context.Context, e commands.PREvent) error
	Release(ctx context.Context, e commands.ReleaseEvent) error
	Build(ctx context.Context, e commands.BuildEvent) error
	Pipeline(ctx context.Context, e commands.PipelineEvent) error
}

// Deliveries remembers the deliveries being or already handled, for days
// and across restarts (store.Rules.ClaimWebhookDelivery): a claim reports
// whether it was the first of its key, a forget lets the key be claimed
// again.
type Deliveries interface {
	ClaimWebhookDelivery(key string) (bool, error)
	ForgetWebhookDelivery(key string) error
}

// Secrets are the shared secrets of the services' webhooks; an empty one
// leaves its endpoint unmounted.
type Secrets struct {
	GitHub, Heroku, Semaphore string
}

// Server holds the endpoints.
type Server struct {
	secrets Secrets
	notify  Notifier
	bg      *commands.Background
	log     zerolog.Logger
	seen    Deliveries
	lanes   *lanes
	reading *semaphore.Weighted // the bytes of the bodies being read, at most readBudget
	timeout time.Duration       // for the background work of one delivery
	observe Observer            // never nil
}

// Observer counts deliveries by service and outcome (accepted, duplicate,
// ignored, bad_signature, rejected, error); /metrics implements it.
type Observer interface {
	WebhookDelivery(service, outcome string)
}

type noObserver struct{}

func (noObserver) WebhookDelivery(string, string) {}

// Observe makes o hear of every delivery. Call it before Register.
func (s *Server) Observe(o Observer) { s.observe = o }

// statusRecorder remembers the status a handler answered, for Observer.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (read deadlines).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// deliveryOutcome names a delivery's outcome from the status it was
// answered with; duplicates are told apart by the handler.
func deliveryOutcome(status int, duplicate bool) string {
	switch {
	case duplicate:
		return "duplicate"
	case status == http.StatusOK:
		return "accepted"
	case status == http.StatusNoContent:
		return "ignored"
	case status == http.StatusUnauthorized:
		return "bad_signature"
	case status >= 400 && status < 500:
		return "rejected"
	}
	return "error"
}

// New builds the endpoints; seen remembers the deliveries handled, and
// work outlives the request through bg.
func New(secrets Secrets, n Notifier, seen Deliveries, bg *commands.Background, log zerolog.Logger) *Server {
	return &Server{secrets: secrets, notify: n, bg: bg, log: log.With().Str("component", "webhooks").Logger(),
		seen: seen, lanes: newLanes(), reading: semaphore.NewWeighted(readBudget), timeout: 2 * time.Minute,
		observe: noObserver{}}
}

// Register mounts the endpoints whose secret is set on mux, and reports
// their paths.
func (s *Server) Register(mux *http.ServeMux) []string {
	var paths []string
	for _, ep := range []endpoint{
		{service: "github", secret: s.secrets.GitHub, signature: githubSignature, verify: VerifyGitHub, decode: s.github},
		{service: "heroku", secret: s.secrets.Heroku, signature: herokuSignature, verify: VerifyHeroku, decode: s.heroku},
		{service: "semaphore", secret: s.secrets.Semaphore, signature: semaphoreSignature, verify: VerifySemaphore, decode: s.semaphore},
	} {
		if ep.secret == "" {
			continue
		}
		path := "/webhooks/" + ep.service
		mux.Handle("POST "+path, s.handler(ep))
		paths = append(paths, path)
	}
	return paths
}

// delivery is a decoded delivery: its id, for recognising redeliveries, and
// the work it asks for.
type delivery struct {
	id    string
	kind  string // the event type, hashed with the body: the body alone may not say it (GitHub's)
	event string // what it is, for the log
	// order names the deliveries this one must follow: those with the same
	// order run one after another, as accepted. A pull request's follow-ups
	// need the thread its "opened" creates. "" runs at once.
	order string
	run   func(ctx context.Context) error
}

// errIgnored marks an event Devy does nothing with (answered 204).
var errIgnored = errors.New("event ignored")

type endpoint struct {
	service   string
	secret    string
	signature func(h http.Header) ([]byte, error) // reads the signature header, before the body
	verify    func(secret string, h http.Header, body []byte) error
	decode    func(h http.Header, body []byte) (delivery, error)
}

func (s *Server) handler(ep endpoint) http.Handler {
	log := s.log.With().Str("service", ep.service).Logger()
	return http.HandlerFunc(func(hw http.ResponseWriter, r *http.Request) {
		w := &statusRecorder{ResponseWriter: hw}
		duplicate := false
		defer func() { s.observe.WebhookDelivery(ep.service, deliveryOutcome(w.status, duplicate)) }()
		if r.ContentLength > MaxBody {
			answer(w, http.StatusRequestEntityTooLarge, "payload over 5 MiB")
			return
		}
		if _, err := ep.signature(r.Header); err != nil {
			log.Warn().Err(err).Str("remote", r.RemoteAddr).Msg("webhook refused: no readable signature")
			answer(w, http.StatusUnauthorized, "signature missing or wrong")
			return
		}
		body, code, err := s.readBody(w, r)
		if err != nil {
			log.Warn().Err(err).Str("remote", r.RemoteAddr).Int("status", code).Msg("webhook refused: body not read")
			answer(w, code, bodyRefusal(code))
			return
		}
		if err := ep.verify(ep.secret, r.Header, body); err != nil {
			log.Warn().Err(err).Str("remote", r.RemoteAddr).Int("bytes", len(body)).Msg("webhook refused: bad signature")
			answer(w, http.StatusUnauthorized, "signature missing or wrong")
			return
		}
		d, err := ep.decode(r.Header, body)
		if errors.Is(err, errIgnored) {
			log.Debug().Str("event", d.event).Msg("webhook ignored: nothing to do for this event")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if err != nil {
			// The error names fields, never their values: payloads stay out of the log.
			log.Warn().Err(err).Int("bytes", len(body)).Msg("webhook refused: payload unreadable")
			answer(w, http.StatusBadRequest, "payload unreadable")
			return
		}
		dlog := log.With().Str("event", d.event).Str("delivery", d.id).Logger()
		if d.run == nil {
			dlog.Debug().Msg("webhook ignored: nothing to do for this event")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		keys, first, err := s.claim(ep.service, d, body)
		if err != nil {
			dlog.Error().Err(err).Msg("webhook refused: the delivery could not be recorded")
			answer(w, http.StatusServiceUnavailable, "could not record the delivery; try again")
			return
		}
		if !first {
			duplicate = true
			dlog.Info().Msg("webhook redelivered; already handled")
			answer(w, http.StatusOK, "already handled")
			return
		}
		dlog.Info().Msg("webhook accepted")
		s.lanes.run(s.bg, d.order, func(ctx context.Context) {
			ctx, cancel := context.WithTimeout(ctx, s.timeout)
			defer cancel()
			if err := d.run(ctx); err != nil {
				// Nothing was told: let a redelivery (by hand, or the
				// service's retry) try again.
				s.forget(dlog, keys)
				dlog.Warn().Err(err).Msg("notifying Slack of a webhook failed; a redelivery will be handled")
			}
		})
		answer(w, http.StatusOK, "accepted")
	})
}

// claim records delivery d of service in the store under its delivery id
// and under a hash of its event type and body, and reports whether both
// were new, with the keys to forget if its work fails. A replay of a
// handled body under a fresh id is not new; its id is forgotten again, so
// that the store holds only deliveries really being handled.
func (s *Server) claim(service string, d delivery, body []byte) ([]string, bool, error) {
	h := sha256.New()
	h.Write([]byte(d.kind))
	h.Write([]byte{0})
	h.Write(body)
	keys := []string{service + "/body:" + hex.EncodeToString(h.Sum(nil))}
	if d.id != "" {
		keys = append([]string{service + "/" + d.id}, keys...)
	}
	var claimed []string
	for _, k := range keys {
		first, err := s.seen.ClaimWebhookDelivery(k)
		if err != nil || !first {
			s.forget(s.log, claimed)
			return nil, false, err
		}
		claimed = append(claimed, k)
	}
	return keys, true, nil
}

// forget drops keys from the store, so that a redelivery is handled.
func (s *Server) forget(log zerolog.Logger, keys []string) {
	for _, k := range keys {
		if err := s.seen.ForgetWebhookDelivery(k); err != nil {
			log.Error().Err(err).Msg("could not forget a webhook delivery; its redelivery will be taken as handled")
		}
	}
}

// bodyRefusal is the answer to a body that could not be read, by status.
func bodyRefusal(code int) string {
	switch code {
	case http.StatusRequestEntityTooLarge:
		return "payload over 5 MiB"
	case http.StatusServiceUnavailable:
		return "too many deliveries at once; try again"
	}
	return "could not read the payload"
}

// readBody reads the body of r, at most MaxBody bytes, once its bytes fit
// in the read budget; on failure it gives the status to answer.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, int, error) {
	// A body of unknown length may be as large as the limit.
	weight := int64(MaxBody)
	if r.ContentLength >= 0 {
		weight = r.ContentLength
	}
	ctx, cancel := context.WithTimeout(r.Context(), readWait)
	defer cancel()
	if err := s.reading.Acquire(ctx, weight); err != nil {
		return nil, http.StatusServiceUnavailable, fmt.Errorf("wait to read %d bytes: %w", weight, err)
	}
	defer s.reading.Release(weight)
	// A slow sender must not hold its share of the budget: the services
	// send their few kilobytes at once.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(10 * time.Second))
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	var buf []byte
	var err error
	if r.ContentLength >= 0 {
		// The length is known (and the server holds the sender to it):
		// one allocation of that size, not a doubling buffer.
		buf = make([]byte, r.ContentLength)
		_, err = io.ReadFull(body, buf)
	} else {
		buf, err = io.ReadAll(body)
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("read the body: %w", err)
	case err != nil:
		return nil, http.StatusBadRequest, fmt.Errorf("read the body: %w", err)
	}
	return buf, 0, nil
}

func answer(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

func (s *Server) github(h http.Header, body []byte) (delivery, error) {
	e, err := DecodeGitHub(h.Get("X-GitHub-Event"), h.Get("Content-Type"), body)
	d := delivery{id: h.Get("X-GitHub-Delivery"), kind: h.Get("X-GitHub-Event"), event: cmp.Or(h.Get("X-GitHub-Event"), "unnamed") + " " + e.Action, order: prOrder(e.Number)}
	d.run = func(ctx context.Context) error { return s.notify.PullRequest(ctx, e) }
	return d, err
}

func (s *Server) heroku(_ http.Header, body []byte) (delivery, error) {
	e, err := DecodeHeroku(body)
	d := delivery{id: e.DeliveryID, kind: "heroku", event: cmp.Or(e.Resource, "unnamed") + " " + e.Action}
	switch {
	case e.Release != nil:
		d.run = func(ctx context.Context) error { return s.notify.Release(ctx, *e.Release) }
	case e.Build != nil:
		d.run = func(ctx context.Context) error { return s.notify.Build(ctx, *e.Build) }
	}
	return d, err
}

func (s *Server) semaphore(h http.Header, body []byte) (delivery, error) {
	e, err := DecodeSemaphore(body)
	// Semaphore sends every attempt with a new X-Semaphore-Webhook-Id, so
	// the header cannot tell a resend: the pipeline and its outcome can.
	d := delivery{id: h.Get("X-Semaphore-Webhook-Id"), kind: "semaphore", event: "pipeline " + e.Result}
	if e.PipelineID != "" {
		d.id = "pipeline:" + e.PipelineID + "/" + e.State + "/" + e.Result
	}
	// A pull request's pipeline shares its lane with the pull request's
	// events, so it follows an announcement accepted before it.
	d.order = prOrder(e.PR)
	if d.order == "" && e.Branch != "" {
		d.order = "branch:" + e.Branch
	}
	d.run = func(ctx context.Context) error { return s.notify.Pipeline(ctx, e) }
	return d, err
}

// prOrder is the order of the deliveries about pull request n.
func prOrder(n int) string {
	if n <= 0 {
		return ""
	}
	return "pr:" + strconv.Itoa(n)
}

// lanes runs the deliveries of one order one after another, in the order
// they were accepted: each delivery's work runs in the background, and
// without this a pull request's "synchronize" could read its thread while
// "opened" is still posting it. One goroutine per busy order runs its
// queue; an order's entry goes when its queue drains.
type lanes struct {
	mu      sync.Mutex                         // guards waiting
	waiting map[string][]func(context.Context) // busy order → work accepted behind the running one
}

func newLanes() *lanes { return &lanes{waiting: map[string][]func(context.Context){}} }

// run runs work in bg after the work of order accepted before it; order ""
// runs at once.
func (l *lanes) run(bg *commands.Background, order string, work func(context.Context)) {
	if order == "" {
		bg.Go(work)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if q, busy := l.waiting[order]; busy {
		l.waiting[order] = append(q, work)
		return
	}
	l.waiting[order] = nil
	bg.Go(func(ctx context.Context) {
		for work != nil {
			work(ctx)
			work = l.next(order)
		}
	})
}

// next takes the next work of order, or frees the order when none waits.
func (l *lanes) next(order string) func(context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.waiting[order]
	if len(q) == 0 {
		delete(l.waiting, order)
		return nil
	}
	l.waiting[order] = q[1:]
	return q[0]
}
