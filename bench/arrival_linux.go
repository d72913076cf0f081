package main

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// arrivalListener hands out connections that learn from the kernel when the
// bytes they read arrived (SO_TIMESTAMPNS). The test Slack reads an
// acknowledgement only when the driver's goroutines get round to it; on a
// driver busy answering a subject's replies that can be a millisecond after
// the frame arrived, and that delay is the driver's, not the subject's. Real
// Slack takes an acknowledgement when it arrives.
type arrivalListener struct{ net.Listener }

func stampArrivals(l net.Listener) net.Listener { return arrivalListener{l} }

func (l arrivalListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c, nil
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return c, nil // no stamps: the test Slack falls back to its own clock
	}
	return &arrivalConn{TCPConn: tc, raw: raw, oob: make([]byte, 64)}, nil
}

// arrivalConn reads with recvmsg to receive the kernel's timestamp of the
// newest segment each read consumed.
type arrivalConn struct {
	*net.TCPConn
	raw  syscall.RawConn
	oob  []byte       // used by Read only, which one goroutine calls at a time
	last atomic.Int64 // unix nanoseconds of the newest read's stamp; 0 if it had none
}

// maxRead keeps each read to about one acknowledgement frame, so a stamp
// belongs to the segment that finished the frame rather than to the newest
// of several queued frames. Larger frames simply take several reads; so do
// the HTTP requests (replies, Web API calls) that reach the test Slack on
// such connections, at a cost to the driver on its own core.
const maxRead = 64

func (c *arrivalConn) Read(p []byte) (int, error) {
	if len(p) > maxRead {
		p = p[:maxRead]
	}
	var n, oobn int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = syscall.Recvmsg(int(fd), p, c.oob, 0)
		return !errors.Is(rerr, syscall.EAGAIN)
	})
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: rerr}
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	// Bytes without a stamp (the kernel turns stamping on for the whole
	// machine a moment after the first socket asks) make the arrival
	// unknown, never the older stamp of earlier bytes.
	c.last.Store(arrival(c.oob[:oobn]))
	return n, nil
}

// arrival is the SCM_TIMESTAMPNS stamp in a recvmsg's control data, in
// unix nanoseconds; 0 if there is none.
func arrival(oob []byte) int64 {
	ms, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for _, m := range ms {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
			return sec*1e9 + nsec
		}
	}
	return 0
}

// LastArrival is when the newest byte read so far reached this machine, by
// the kernel's clock; zero if the kernel gave no stamp.
func (c *arrivalConn) LastArrival() time.Time {
	ns := c.last.Load()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}
