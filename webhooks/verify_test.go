package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
)

const testSecret = "It's a Secret to Everybody"

// The body and signature of GitHub's own example in "Validating webhook
// deliveries": secret "It's a Secret to Everybody", payload "Hello, World!".
const (
	githubDocBody = "Hello, World!"
	githubDocSig  = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
)

func hmacBytes(secret, body string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return m.Sum(nil)
}

func TestVerify(t *testing.T) {
	body := `{"action":"opened"}`
	sum := hmacBytes(testSecret, body)
	hexSum := hex.EncodeToString(sum)
	b64Sum := base64.StdEncoding.EncodeToString(sum)
	other := hex.EncodeToString(hmacBytes("another secret", body))

	type verifier func(string, http.Header, []byte) error
	tests := []struct {
		name    string
		verify  verifier
		header  string
		value   string // "" sends no header
		body    string
		secret  string
		wantErr error // nil: valid
	}{
		{"github good", VerifyGitHub, "X-Hub-Signature-256", "sha256=" + hexSum, body, testSecret, nil},
		{"github documented example", VerifyGitHub, "X-Hub-Signature-256", githubDocSig, githubDocBody, testSecret, nil},
		{"github uppercase hex", VerifyGitHub, "X-Hub-Signature-256", "sha256=" + strings.ToUpper(hexSum), body, testSecret, nil},
		{"github wrong secret", VerifyGitHub, "X-Hub-Signature-256", "sha256=" + other, body, testSecret, errBadSignature},
		{"github body changed", VerifyGitHub, "X-Hub-Signature-256", "sha256=" + hexSum, body + " ", testSecret, errBadSignature},
		{"github missing", VerifyGitHub, "", "", body, testSecret, errNoSignature},
		{"github no prefix", VerifyGitHub, "X-Hub-Signature-256", hexSum, body, testSecret, errBadEncoding},
		{"github sha1 prefix", VerifyGitHub, "X-Hub-Signature-256", "sha1=" + hexSum, body, testSecret, errBadEncoding},
		{"github base64", VerifyGitHub, "X-Hub-Signature-256", "sha256=" + b64Sum, body, testSecret, errBadEncoding},
		{"github truncated", VerifyGitHub, "X-Hub-Signature-256", "sha256=" + hexSum[:40], body, testSecret, errBadEncoding},
		{"github old sha1 header only", VerifyGitHub, "X-Hub-Signature", "sha1=" + hexSum[:40], body, testSecret, errNoSignature},
		{"github no secret configured", VerifyGitHub, "X-Hub-Signature-256", "sha256=" + hex.EncodeToString(hmacBytes("", body)), body, "", errNoSecret},

		{"heroku good", VerifyHeroku, "Heroku-Webhook-Hmac-SHA256", b64Sum, body, testSecret, nil},
		{"heroku unpadded", VerifyHeroku, "Heroku-Webhook-Hmac-SHA256", strings.TrimRight(b64Sum, "="), body, testSecret, nil},
		{"heroku wrong secret", VerifyHeroku, "Heroku-Webhook-Hmac-SHA256", base64.StdEncoding.EncodeToString(hmacBytes("x", body)), body, testSecret, errBadSignature},
		{"heroku missing", VerifyHeroku, "", "", body, testSecret, errNoSignature},
		{"heroku hex instead of base64", VerifyHeroku, "Heroku-Webhook-Hmac-SHA256", hexSum, body, testSecret, errBadEncoding},
		{"heroku not base64", VerifyHeroku, "Heroku-Webhook-Hmac-SHA256", "***", body, testSecret, errBadEncoding},
		{"heroku sha256= prefix", VerifyHeroku, "Heroku-Webhook-Hmac-SHA256", "sha256=" + b64Sum, body, testSecret, errBadEncoding},

		{"semaphore good", VerifySemaphore, "X-Semaphore-Signature-256", hexSum, body, testSecret, nil},
		{"semaphore with sha256= prefix", VerifySemaphore, "X-Semaphore-Signature-256", "sha256=" + hexSum, body, testSecret, nil},
		{"semaphore wrong secret", VerifySemaphore, "X-Semaphore-Signature-256", other, body, testSecret, errBadSignature},
		{"semaphore missing", VerifySemaphore, "", "", body, testSecret, errNoSignature},
		{"semaphore base64", VerifySemaphore, "X-Semaphore-Signature-256", b64Sum, body, testSecret, errBadEncoding},
		{"semaphore other prefix", VerifySemaphore, "X-Semaphore-Signature-256", "sha1=" + hexSum, body, testSecret, errBadEncoding},
		{"semaphore empty body signed", VerifySemaphore, "X-Semaphore-Signature-256", hex.EncodeToString(hmacBytes(testSecret, "")), "", testSecret, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.header != "" {
				h.Set(tc.header, tc.value)
			}
			err := tc.verify(tc.secret, h, []byte(tc.body))
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("valid signature refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v; want %v", err, tc.wantErr)
			}
		})
	}
}
