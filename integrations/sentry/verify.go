// Package sentry reads Sentry's integration-platform webhooks: it checks a
// delivery's signature and age, and decodes the resources Devy acts on into
// typed events. It knows nothing of Slack; commands/signals decides what
// each event becomes.
package sentry

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The headers Sentry sends with every delivery (api-facts 6.1).
const (
	HeaderResource  = "Sentry-Hook-Resource"
	HeaderSignature = "Sentry-Hook-Signature"
	HeaderTimestamp = "Sentry-Hook-Timestamp"
	HeaderRequestID = "Request-ID"
)

// MaxSkew is how far a delivery's timestamp may be from now, either way,
// before it is refused as a replay. The timestamp is not signed, so this
// only stops naive replays; deduplication on Request-ID does the rest.
const MaxSkew = 10 * time.Minute

var (
	// ErrUnauthorized means the delivery is not from Sentry: no signature,
	// a malformed one, a wrong one, or no secret to check it with.
	ErrUnauthorized = errors.New("sentry: delivery not signed with the client secret")
	// ErrReplay means the delivery's timestamp is missing or too far from now.
	ErrReplay = errors.New("sentry: delivery timestamp missing or more than 10 minutes from now")
	// ErrMalformed means the body is not a delivery Sentry sends.
	ErrMalformed = errors.New("sentry: malformed delivery")
)

// SignatureWellFormed reports whether a Sentry-Hook-Signature value has the
// shape of one (64 hex digits), so that an endpoint can refuse a missing or
// malformed signature before it reads the body.
func SignatureWellFormed(sig string) bool {
	sig = strings.TrimSpace(sig)
	if len(sig) != 2*sha256.Size {
		return false
	}
	_, err := hex.DecodeString(sig)
	return err == nil
}

// VerifySignature checks that sig is the hex HMAC-SHA256 of the raw body
// with the client secret. Sentry signs the exact bytes it sends, so the body
// must be the bytes received, never re-encoded JSON. The comparison is in
// constant time.
func VerifySignature(secret string, body []byte, sig string) error {
	if secret == "" {
		return fmt.Errorf("no client secret configured: %w", ErrUnauthorized)
	}
	got, err := hex.DecodeString(strings.TrimSpace(sig))
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("signature is not 64 hex digits: %w", ErrUnauthorized)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return fmt.Errorf("signature does not match the body: %w", ErrUnauthorized)
	}
	return nil
}

// CheckTimestamp refuses a Sentry-Hook-Timestamp (Unix seconds, possibly
// with a fraction) that is missing or more than MaxSkew from now.
func CheckTimestamp(ts string, now time.Time) error {
	ts = strings.TrimSpace(ts)
	if ts == "" {
		return fmt.Errorf("no %s header: %w", HeaderTimestamp, ErrReplay)
	}
	secs, err := strconv.ParseFloat(ts, 64)
	if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) || math.Abs(secs) > 1e12 {
		return fmt.Errorf("%s %q is not Unix seconds: %w", HeaderTimestamp, ts, ErrReplay)
	}
	whole := math.Floor(secs)
	sent := time.Unix(int64(whole), int64((secs-whole)*1e9))
	if d := now.Sub(sent); d > MaxSkew || d < -MaxSkew {
		return fmt.Errorf("%s is %s from now: %w", HeaderTimestamp, d.Round(time.Second), ErrReplay)
	}
	return nil
}

// Verify checks a delivery's signature over the raw body, then its age.
// signature and timestamp are the header values.
func Verify(secret, signature, timestamp string, body []byte, now time.Time) error {
	if err := VerifySignature(secret, body, signature); err != nil {
		return err
	}
	return CheckTimestamp(timestamp, now)
}

// Sign is the signature Sentry would send for body: for tests and the
// shell's simulator.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
