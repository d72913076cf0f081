package webhooks

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// An idle keep-alive connection is closed after the idle timeout: without
// it, every connection a sender leaves open holds a goroutine for ever.
func TestIdleConnectionIsClosed(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	srv := NewServerTimeouts("127.0.0.1:0", mux, ServerTimeouts{Idle: 100 * time.Millisecond})
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: devy\r\n\r\n")
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Close {
		t.Fatalf("answered %d (close %v); want 200 on a kept-alive connection", resp.StatusCode, resp.Close)
	}
	// Now idle: the server must close its side. The read deadline is
	// only the test's patience, far beyond the idle timeout.
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	_, err = r.ReadByte()
	if !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: read %v; want EOF (closed by the server)", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("closed after %v; want about the 100ms idle timeout", d)
	}
}

func TestNewServerSetsEveryLimit(t *testing.T) {
	srv := NewServer(":8080", http.NewServeMux())
	d := DefaultTimeouts()
	if srv.ReadHeaderTimeout != d.ReadHeader || srv.ReadTimeout != d.Read || srv.WriteTimeout != d.Write || srv.IdleTimeout != d.Idle {
		t.Errorf("timeouts %v %v %v %v; want %+v", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, d)
	}
	if srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 1<<20 {
		t.Errorf("MaxHeaderBytes = %d; want a bound under Go's 1 MiB default", srv.MaxHeaderBytes)
	}
	if !strings.HasSuffix(srv.Addr, ":8080") {
		t.Errorf("Addr = %q", srv.Addr)
	}
}
