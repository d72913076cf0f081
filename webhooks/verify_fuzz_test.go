package webhooks

import (
	"crypto/hmac"
	"net/http"
	"testing"
)

// FuzzVerify feeds the three verifiers any header and body: they must not
// panic, and they accept only the MAC of the body under the secret.
func FuzzVerify(f *testing.F) {
	f.Fuzz(func(t *testing.T, service uint8, secret, sig string, body []byte) {
		verifiers := []struct {
			header string
			verify func(string, http.Header, []byte) error
			read   func(http.Header) ([]byte, error)
		}{
			{"X-Hub-Signature-256", VerifyGitHub, githubSignature},
			{"Heroku-Webhook-Hmac-SHA256", VerifyHeroku, herokuSignature},
			{"X-Semaphore-Signature-256", VerifySemaphore, semaphoreSignature},
		}
		v := verifiers[int(service)%len(verifiers)]
		h := http.Header{}
		h.Set(v.header, sig)
		err := v.verify(secret, h, body)
		if err != nil {
			return
		}
		if secret == "" {
			t.Fatal("accepted a delivery with no secret configured")
		}
		got, rerr := v.read(h)
		if rerr != nil || !hmac.Equal(got, mac(secret, body)) {
			t.Fatalf("accepted %q, which is not the body's MAC", sig)
		}
	})
}
