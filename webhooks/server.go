package webhooks

import (
	"net/http"
	"time"
)

// ServerTimeouts bound what one connection may hold of the server: the
// services send a few kilobytes at once and read a one-line answer, and an
// idle keep-alive connection costs a goroutine and a socket until closed.
type ServerTimeouts struct {
	ReadHeader time.Duration // to read a request's headers
	Read       time.Duration // to read a whole request, body included
	Write      time.Duration // from the end of the headers to the end of the answer
	Idle       time.Duration // a keep-alive connection waiting for its next request
}

// DefaultTimeouts leave the slowest real delivery room (a 5 MiB body read
// over a slow link, a health check) and close idle connections within two
// minutes.
func DefaultTimeouts() ServerTimeouts {
	return ServerTimeouts{ReadHeader: 5 * time.Second, Read: 30 * time.Second, Write: 30 * time.Second, Idle: 2 * time.Minute}
}

// maxHeaderBytes bounds a request's headers; the services' are well under
// 8 KiB.
const maxHeaderBytes = 64 << 10

// NewServer returns the HTTP server for the webhooks and /healthz on addr,
// with DefaultTimeouts.
func NewServer(addr string, h http.Handler) *http.Server {
	return NewServerTimeouts(addr, h, DefaultTimeouts())
}

// NewServerTimeouts is NewServer with timeouts of the caller's choosing;
// a zero field takes the default's value.
func NewServerTimeouts(addr string, h http.Handler, t ServerTimeouts) *http.Server {
	d := DefaultTimeouts()
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: orDefault(t.ReadHeader, d.ReadHeader),
		ReadTimeout:       orDefault(t.Read, d.Read),
		WriteTimeout:      orDefault(t.Write, d.Write),
		IdleTimeout:       orDefault(t.Idle, d.Idle),
		MaxHeaderBytes:    maxHeaderBytes,
	}
}

func orDefault(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}
