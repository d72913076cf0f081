package github

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxErrorBody bounds the error answer kept in memory; GitHub's are a few
// hundred bytes of JSON.
const maxErrorBody = 1 << 20

// closingTransport makes sure every answer's body is closed. go-github's
// CheckResponse reads an error answer's body and puts a copy in its place
// before its deferred Close, so the real body is never closed, and an
// http.Client with a Timeout keeps a goroutine for each such call until the
// timeout fires. Here an error answer is read and closed at once and handed
// on as bytes, and the timeout is the transport's own: a context per
// request, ended when its body is closed.
type closingTransport struct {
	base    http.RoundTripper
	timeout time.Duration // per request, body included; 0 is none
}

// closingClient returns a copy of hc whose transport closes every body and
// carries hc's timeout, which the copy itself no longer has.
func closingClient(hc *http.Client) *http.Client {
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c := *hc
	c.Transport = &closingTransport{base: base, timeout: hc.Timeout}
	c.Timeout = 0
	return &c
}

func (t *closingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var ctx context.Context
	var cancel context.CancelFunc
	if t.timeout > 0 {
		ctx, cancel = context.WithTimeout(req.Context(), t.timeout)
	} else {
		ctx, cancel = context.WithCancel(req.Context())
	}
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
		return resp, nil
	}
	defer cancel()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read the %d answer to %s %s: %w", resp.StatusCode, req.Method, req.URL.Path, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	resp.ContentLength = int64(len(data))
	return resp, nil
}

// cancelBody ends its request's context when closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
