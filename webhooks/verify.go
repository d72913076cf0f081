package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v60/github"
)

// Each service signs the raw body with HMAC-SHA256 and the shared secret;
// they differ only in the header and the encoding. The MAC is computed over
// the bytes received, never over re-encoded JSON, and compared in constant
// time (hmac.Equal).
//
// Each check comes in two steps: reading the signature header, which needs
// no body and so refuses an unsigned or garbled delivery before a byte of
// it is read, and checking the MAC over the body.

var (
	errNoSignature  = errors.New("no signature header")
	errBadEncoding  = errors.New("signature is not in the service's encoding")
	errBadSignature = errors.New("signature does not match the body")
	errNoSecret     = errors.New("no secret configured")
)

func mac(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

func check(secret string, body, got []byte) error {
	if secret == "" {
		// Never accept unsigned payloads because a secret is missing
		// (go-github's ValidatePayload does, api-facts 4.6).
		return errNoSecret
	}
	if !hmac.Equal(got, mac(secret, body)) {
		return errBadSignature
	}
	return nil
}

// githubSignature reads X-Hub-Signature-256: "sha256=" and the hex HMAC.
// The older SHA-1 X-Hub-Signature is not accepted.
func githubSignature(h http.Header) ([]byte, error) {
	sig := strings.TrimSpace(h.Get("X-Hub-Signature-256"))
	if sig == "" {
		return nil, fmt.Errorf("X-Hub-Signature-256: %w", errNoSignature)
	}
	hexMAC, ok := strings.CutPrefix(sig, "sha256=")
	if !ok {
		return nil, fmt.Errorf("X-Hub-Signature-256 does not start with sha256=: %w", errBadEncoding)
	}
	got, err := hex.DecodeString(hexMAC)
	if err != nil || len(got) != sha256.Size {
		return nil, fmt.Errorf("X-Hub-Signature-256: %w", errBadEncoding)
	}
	return got, nil
}

// herokuSignature reads Heroku-Webhook-Hmac-SHA256: the base64 HMAC.
func herokuSignature(h http.Header) ([]byte, error) {
	sig := strings.TrimSpace(h.Get("Heroku-Webhook-Hmac-SHA256"))
	if sig == "" {
		return nil, fmt.Errorf("Heroku-Webhook-Hmac-SHA256: %w", errNoSignature)
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		got, err = base64.RawStdEncoding.DecodeString(sig)
	}
	if err != nil || len(got) != sha256.Size {
		return nil, fmt.Errorf("Heroku-Webhook-Hmac-SHA256: %w", errBadEncoding)
	}
	return got, nil
}

// semaphoreSignature reads X-Semaphore-Signature-256: the lowercase hex
// HMAC with no prefix (Semaphore's notifications/…/webhook/signature.ex); a
// "sha256=" prefix, as some verifiers expect, is accepted too.
func semaphoreSignature(h http.Header) ([]byte, error) {
	sig := strings.TrimSpace(h.Get("X-Semaphore-Signature-256"))
	if sig == "" {
		return nil, fmt.Errorf("X-Semaphore-Signature-256: %w", errNoSignature)
	}
	sig = strings.TrimPrefix(sig, "sha256=")
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return nil, fmt.Errorf("X-Semaphore-Signature-256: %w", errBadEncoding)
	}
	return got, nil
}

// verify reads the signature with read and checks it over body.
func verify(read func(http.Header) ([]byte, error), secret string, h http.Header, body []byte) error {
	got, err := read(h)
	if err != nil {
		return err
	}
	return check(secret, body, got)
}

// VerifyGitHub checks X-Hub-Signature-256: "sha256=" and the hex HMAC,
// with go-github's ValidateSignature. The header must name SHA-256 (which
// ValidateSignature alone would not insist on), and an empty secret is
// refused rather than used as a key.
func VerifyGitHub(secret string, h http.Header, body []byte) error {
	if _, err := githubSignature(h); err != nil {
		return err
	}
	if secret == "" {
		return errNoSecret
	}
	if err := gh.ValidateSignature(strings.TrimSpace(h.Get("X-Hub-Signature-256")), body, []byte(secret)); err != nil {
		return fmt.Errorf("X-Hub-Signature-256: %w: %w", errBadSignature, err)
	}
	return nil
}

// VerifyHeroku checks Heroku-Webhook-Hmac-SHA256: the base64 HMAC.
func VerifyHeroku(secret string, h http.Header, body []byte) error {
	return verify(herokuSignature, secret, h, body)
}

// VerifySemaphore checks X-Semaphore-Signature-256: the hex HMAC, with or
// without a "sha256=" prefix.
func VerifySemaphore(secret string, h http.Header, body []byte) error {
	return verify(semaphoreSignature, secret, h, body)
}
