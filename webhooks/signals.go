package webhooks

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/devy-chatops/devy/integrations/alertmanager"
	"github.com/devy-chatops/devy/integrations/sentry"
)

// The signal endpoints take in what the team's monitoring says:
//
//	POST /webhooks/sentry        Sentry-Hook-Signature: <hex HMAC-SHA256 of the body>, Sentry-Hook-Timestamp
//	POST /webhooks/alertmanager  Authorization: Bearer <DEVY_ALERTMANAGER_TOKEN>
//
// Unlike the other endpoints they hand the verified body to the signal desk
// while the sender waits: the desk decodes it, claims its delivery key in
// the store and records what it becomes — local work, well within Sentry's
// one second — and talks to Slack later. That way a malformed body is
// answered 400, and a delivery the store could not record is answered 500,
// which Alertmanager retries.

// SignalDesk takes in verified deliveries (commands/signals.Signals). Its
// errors wrapping sentry.ErrMalformed or alertmanager.ErrMalformed are the
// sender's fault.
type SignalDesk interface {
	Sentry(ctx context.Context, resource, requestID string, body []byte) error
	Alertmanager(ctx context.Context, body []byte) error
}

// SignalSecrets are the signal endpoints' credentials; an empty one leaves
// its endpoint unmounted.
type SignalSecrets struct {
	SentryClientSecret string
	AlertmanagerToken  string
}

// RegisterSignals mounts the signal endpoints whose credential is set on
// mux, and reports their paths. now is the clock a Sentry delivery's
// timestamp is checked against (nil: time.Now).
func (s *Server) RegisterSignals(mux *http.ServeMux, secrets SignalSecrets, desk SignalDesk, now func() time.Time) []string {
	if now == nil {
		now = time.Now
	}
	var paths []string
	if secrets.SentryClientSecret != "" {
		mux.Handle("POST /webhooks/sentry", s.sentryHandler(secrets.SentryClientSecret, desk, now))
		paths = append(paths, "/webhooks/sentry")
	}
	if secrets.AlertmanagerToken != "" {
		mux.Handle("POST /webhooks/alertmanager", s.alertmanagerHandler(secrets.AlertmanagerToken, desk))
		paths = append(paths, "/webhooks/alertmanager")
	}
	return paths
}

func (s *Server) sentryHandler(secret string, desk SignalDesk, now func() time.Time) http.Handler {
	log := s.log.With().Str("service", "sentry").Logger()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBody {
			answer(w, http.StatusRequestEntityTooLarge, "payload over 5 MiB")
			return
		}
		sig := r.Header.Get(sentry.HeaderSignature)
		if !sentry.SignatureWellFormed(sig) {
			log.Warn().Str("remote", r.RemoteAddr).Msg("webhook refused: no readable signature")
			answer(w, http.StatusUnauthorized, "signature missing or wrong")
			return
		}
		body, ok := s.readSignalBody(w, r, log)
		if !ok {
			return
		}
		if err := sentry.Verify(secret, sig, r.Header.Get(sentry.HeaderTimestamp), body, now()); err != nil {
			log.Warn().Err(err).Str("remote", r.RemoteAddr).Int("bytes", len(body)).Msg("webhook refused: bad signature or stale timestamp")
			answer(w, http.StatusUnauthorized, "signature missing or wrong, or timestamp too old")
			return
		}
		resource, id := r.Header.Get(sentry.HeaderResource), r.Header.Get(sentry.HeaderRequestID)
		err := desk.Sentry(r.Context(), resource, id, body)
		s.signalAnswer(w, log.With().Str("resource", resource).Str("delivery", id).Logger(), err, sentry.ErrMalformed)
	})
}

func (s *Server) alertmanagerHandler(token string, desk SignalDesk) http.Handler {
	log := s.log.With().Str("service", "alertmanager").Logger()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBody {
			answer(w, http.StatusRequestEntityTooLarge, "payload over 5 MiB")
			return
		}
		auth := r.Header.Get("Authorization")
		if !alertmanager.BearerWellFormed(auth) {
			log.Warn().Str("remote", r.RemoteAddr).Msg("webhook refused: no bearer token")
			answer(w, http.StatusUnauthorized, "token missing or wrong")
			return
		}
		// The token is checked before the body is read: unlike a
		// signature, it does not depend on the body.
		if err := alertmanager.CheckBearer(auth, token); err != nil {
			log.Warn().Err(err).Str("remote", r.RemoteAddr).Msg("webhook refused: wrong token")
			answer(w, http.StatusUnauthorized, "token missing or wrong")
			return
		}
		body, ok := s.readSignalBody(w, r, log)
		if !ok {
			return
		}
		s.signalAnswer(w, log, desk.Alertmanager(r.Context(), body), alertmanager.ErrMalformed)
	})
}

// readSignalBody reads the body within the read budget, answering the
// sender itself when it cannot.
func (s *Server) readSignalBody(w http.ResponseWriter, r *http.Request, log zerolog.Logger) ([]byte, bool) {
	body, code, err := s.readBody(w, r)
	if err != nil {
		log.Warn().Err(err).Str("remote", r.RemoteAddr).Int("status", code).Msg("webhook refused: body not read")
		answer(w, code, bodyRefusal(code))
		return nil, false
	}
	return body, true
}

// signalAnswer answers a delivery the desk has taken in: 400 when it is
// malformed, 500 when Devy could not record it (Alertmanager then retries),
// else 200 — an event Devy does nothing with included, so the sender
// neither retries nor disables the hook.
func (s *Server) signalAnswer(w http.ResponseWriter, log zerolog.Logger, err, malformed error) {
	switch {
	case err == nil:
		answer(w, http.StatusOK, "accepted")
	case errors.Is(err, malformed):
		// The error names fields, never their values: payloads stay out of the log.
		log.Warn().Err(err).Msg("webhook refused: payload unreadable")
		answer(w, http.StatusBadRequest, "payload unreadable")
	default:
		log.Error().Err(err).Msg("recording a delivery failed")
		answer(w, http.StatusInternalServerError, "could not record the delivery; try again")
	}
}
