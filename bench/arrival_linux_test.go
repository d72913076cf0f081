package main

import (
	"bytes"
	"encoding/binary"
	"github.com/devy-chatops/devy/internal/waitfor"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// The kernel's arrival stamp of what a connection read lies between the
// moment the bytes were written and the moment they were read, and reading
// through the stamping connection returns the bytes unchanged.
func TestArrivalStampsComeFromTheKernel(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l = stampArrivals(l)

	client, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	stamper, ok := server.(interface{ LastArrival() time.Time })
	if !ok {
		t.Fatalf("accepted %T, which does not stamp arrivals", server)
	}
	if !stamper.LastArrival().IsZero() {
		t.Errorf("LastArrival before any read = %v, want zero", stamper.LastArrival())
	}

	// Linux turns receive stamping on for the machine shortly after the
	// first socket asks for it; until then bytes arrive unstamped, and
	// the connection must say it does not know.
	one := make([]byte, 1)
	waitfor.True(t, "the kernel to stamp what arrived", func() bool {
		if _, err := client.Write([]byte{'x'}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(server, one); err != nil {
			t.Fatal(err)
		}
		return !stamper.LastArrival().IsZero()
	})

	payload := bytes.Repeat([]byte("envelope-"), 100) // several of the conn's short reads
	before := time.Now()
	if _, err := client.Write(payload); err != nil {
		t.Fatal(err)
	}
	client.Close()
	got, err := io.ReadAll(server)
	read := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("read %d bytes, not the %d written", len(got), len(payload))
	}
	at := stamper.LastArrival()
	if at.Before(before.Add(-time.Millisecond)) || at.After(read) {
		t.Errorf("arrival %v is not between the write (%v) and the read (%v)", at, before, read)
	}
}

func TestArrivalReadsTheTimestampMessage(t *testing.T) {
	stamp := func(level, typ int32, sec, nsec uint64) []byte {
		b := make([]byte, syscall.CmsgSpace(16))
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&b[0]))
		h.Level, h.Type = level, typ
		h.SetLen(syscall.CmsgLen(16))
		binary.NativeEndian.PutUint64(b[syscall.CmsgLen(0):], sec)
		binary.NativeEndian.PutUint64(b[syscall.CmsgLen(0)+8:], nsec)
		return b
	}
	tests := []struct {
		name string
		oob  []byte
		want int64
	}{
		{"no control data", nil, 0},
		{"a stamp", stamp(syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, 1_764_136_800, 123), 1_764_136_800_000_000_123},
		{"another message", stamp(syscall.SOL_SOCKET, syscall.SCM_RIGHTS, 1, 2), 0},
		{"truncated", stamp(syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, 1, 2)[:8], 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := arrival(tt.oob); got != tt.want {
				t.Errorf("arrival = %d, want %d", got, tt.want)
			}
		})
	}
}
