// Package webhooks receives GitHub's, Heroku's and Semaphore's webhooks:
// HTTP only. Each endpoint checks the size and the signature of a delivery,
// recognises redeliveries, decodes the payload into one of commands' small
// typed events and answers at once; telling Slack happens in the
// background, through the Notifier.
//
//	POST /webhooks/github     X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>
//	POST /webhooks/heroku     Heroku-Webhook-Hmac-SHA256: <base64 HMAC-SHA256 of the body>
//	POST /webhooks/semaphore  X-Semaphore-Signature-256: <hex HMAC-SHA256 of the body>
//
// Answers: 200 accepted (or a redelivery, posted once), 204 an event Devy
// does nothing with, 400 a payload it cannot read, 401 a missing or wrong
// signature (nothing is posted), 413 a body over 5 MiB, 404 an endpoint
// whose secret is not configured (it is not mounted at all).
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
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/commands"
)

// MaxBody is the largest payload accepted. GitHub caps its payloads at
// 25 MB but pull_request events are a few tens of KB; Heroku's and
// Semaphore's are smaller still.
const MaxBody = 5 << 20

// Notifier is what the webhooks tell about (commands.Notifications). Its
// methods run in the background, after the service was answered.
type Notifier interface {
	PullRequest(ctx context.Context, e commands.PREvent) error
	Release(ctx context.Context, e commands.ReleaseEvent) error
	Build(ctx context.Context, e commands.BuildEvent) error
	Pipeline(ctx context.Context, e commands.PipelineEvent) error
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
	seen    *seenSet
	timeout time.Duration // for the background work of one delivery
}

// New builds the endpoints; work outlives the request through bg.
func New(secrets Secrets, n Notifier, bg *commands.Background, log zerolog.Logger) *Server {
	return &Server{secrets: secrets, notify: n, bg: bg, log: log.With().Str("component", "webhooks").Logger(),
		seen: newSeenSet(4096), timeout: 2 * time.Minute}
}

// Register mounts the endpoints whose secret is set on mux, and reports
// their paths.
func (s *Server) Register(mux *http.ServeMux) []string {
	var paths []string
	for _, ep := range []endpoint{
		{service: "github", secret: s.secrets.GitHub, verify: VerifyGitHub, decode: s.github},
		{service: "heroku", secret: s.secrets.Heroku, verify: VerifyHeroku, decode: s.heroku},
		{service: "semaphore", secret: s.secrets.Semaphore, verify: VerifySemaphore, decode: s.semaphore},
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
	event string // what it is, for the log
	run   func(ctx context.Context) error
}

// errIgnored marks an event Devy does nothing with (answered 204).
var errIgnored = errors.New("event ignored")

type endpoint struct {
	service string
	secret  string
	verify  func(secret string, h http.Header, body []byte) error
	decode  func(h http.Header, body []byte) (delivery, error)
}

func (s *Server) handler(ep endpoint) http.Handler {
	log := s.log.With().Str("service", ep.service).Logger()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A slow sender must not hold the connection: the services send
		// their few kilobytes at once.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(10 * time.Second))
		if r.ContentLength > MaxBody {
			answer(w, http.StatusRequestEntityTooLarge, "payload over 5 MiB")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			answer(w, http.StatusRequestEntityTooLarge, "payload over 5 MiB")
			return
		}
		if err != nil {
			answer(w, http.StatusBadRequest, "could not read the payload")
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
		if d.id == "" {
			// No delivery id: the same bytes are the same delivery.
			sum := sha256.Sum256(body)
			d.id = "sha256:" + hex.EncodeToString(sum[:])
		}
		dlog := log.With().Str("event", d.event).Str("delivery", d.id).Logger()
		if d.run == nil {
			dlog.Debug().Msg("webhook ignored: nothing to do for this event")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if !s.seen.add(ep.service + "/" + d.id) {
			dlog.Info().Msg("webhook redelivered; already handled")
			answer(w, http.StatusOK, "already handled")
			return
		}
		dlog.Info().Msg("webhook accepted")
		s.bg.Go(func(ctx context.Context) {
			ctx, cancel := context.WithTimeout(ctx, s.timeout)
			defer cancel()
			if err := d.run(ctx); err != nil {
				dlog.Warn().Err(err).Msg("notifying Slack of a webhook failed")
			}
		})
		answer(w, http.StatusOK, "accepted")
	})
}

func answer(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

func (s *Server) github(h http.Header, body []byte) (delivery, error) {
	e, err := DecodeGitHub(h.Get("X-GitHub-Event"), h.Get("Content-Type"), body)
	d := delivery{id: h.Get("X-GitHub-Delivery"), event: cmp.Or(h.Get("X-GitHub-Event"), "unnamed") + " " + e.Action}
	d.run = func(ctx context.Context) error { return s.notify.PullRequest(ctx, e) }
	return d, err
}

func (s *Server) heroku(_ http.Header, body []byte) (delivery, error) {
	e, err := DecodeHeroku(body)
	d := delivery{id: e.DeliveryID, event: cmp.Or(e.Resource, "unnamed") + " " + e.Action}
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
	d := delivery{id: h.Get("X-Semaphore-Webhook-Id"), event: "pipeline " + e.Result}
	d.run = func(ctx context.Context) error { return s.notify.Pipeline(ctx, e) }
	return d, err
}

// seenSet remembers the newest deliveries, so that a redelivery posts
// nothing twice. It lives in memory and is bounded: after a restart, or
// thousands of deliveries later, an old delivery would be handled again —
// the services redeliver within minutes (Heroku's sync retries, Semaphore's
// timeouts) or by hand, and the messages themselves are idempotent where it
// matters (a pull request is announced once per thread).
type seenSet struct {
	mu    sync.Mutex // guards keys, ring and next
	keys  map[string]bool
	ring  []string
	next  int
	limit int
}

func newSeenSet(limit int) *seenSet {
	return &seenSet{keys: map[string]bool{}, ring: make([]string, limit), limit: limit}
}

// add records key and reports whether it was new.
func (s *seenSet) add(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys[key] {
		return false
	}
	if old := s.ring[s.next]; old != "" {
		delete(s.keys, old)
	}
	s.ring[s.next] = key
	s.next = (s.next + 1) % s.limit
	s.keys[key] = true
	return true
}
