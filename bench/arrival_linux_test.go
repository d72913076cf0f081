package main

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
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
