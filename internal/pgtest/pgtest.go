// Package pgtest gives tests a throwaway PostgreSQL database.
//
// The server is the one DEVY_TEST_DATABASE_URL points at (a postgres:// URL
// of a user allowed to create databases; .ci/run starts one and sets it).
// When the variable is unset, Main starts a private server for the test
// binary from the PostgreSQL binaries on this machine (initdb, pg_ctl; as
// root it runs them as the postgres user) and stops it afterwards. Only when
// neither works are PostgreSQL tests skipped, loudly; with CI=true, or with
// DEVY_TEST_DATABASE_URL set but unreachable, they fail instead.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the server the tests use.
const EnvURL = "DEVY_TEST_DATABASE_URL"

// envNoServer carries, from Main to the tests, why no server could be started.
const envNoServer = "DEVY_TEST_DATABASE_UNAVAILABLE"

// Main runs m, first starting a private PostgreSQL server when EnvURL is
// unset. Call it from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	if os.Getenv(EnvURL) == "" {
		srv, err := Start()
		if err != nil {
			os.Setenv(envNoServer, err.Error())
			fmt.Fprintf(os.Stderr, "\n*** PostgreSQL tests will be SKIPPED: %v ***\n\n", err)
		} else {
			defer srv.Stop()
			os.Setenv(EnvURL, srv.URL)
		}
	}
	return m.Run()
}

// Server is a PostgreSQL server started for tests.
type Server struct {
	URL  string // superuser "postgres", no password, no TLS
	dir  string
	bin  string
	user string // who runs it; "" for the current user

	runuser string // util-linux's runuser, to run as user
}

// Start initialises and starts a throwaway server in a temporary directory
// on a free loopback port.
func Start() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin}
	dir, err := os.MkdirTemp("", "devy-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: temp dir: %w", err)
	}
	s.dir = dir
	if os.Geteuid() == 0 {
		// initdb refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: running as root and there is no postgres user to run the server as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: %w", err)
		}
		s.user = u.Username
		if s.runuser, err = lookPath("runuser", "/usr/sbin", "/sbin"); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: running as root and runuser (to run the server as postgres) is missing")
		}
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := s.run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb: %v %s", err, strings.TrimSpace(string(out)))
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=300", port, dir)
	if out, err := s.run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "30", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: pg_ctl start: %v %s %s", err, strings.TrimSpace(string(out)), log)
	}
	s.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return s, nil
}

// Stop stops the server at once and removes its files.
func (s *Server) Stop() {
	_, _ = s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop")
	os.RemoveAll(s.dir)
}

func (s *Server) run(name string, args ...string) ([]byte, error) {
	path := filepath.Join(s.bin, name)
	var cmd *exec.Cmd
	if s.user != "" {
		cmd = exec.Command(s.runuser, append([]string{"-u", s.user, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = s.dir
	return cmd.CombinedOutput()
}

// binDir finds initdb and pg_ctl: on PATH, or where Debian puts them.
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isFile(filepath.Join(d, "initdb")) && isFile(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("pgtest: no PostgreSQL server binaries (initdb, pg_ctl) found; install PostgreSQL or set %s", EnvURL)
}

// lookPath finds name on PATH or in one of dirs.
func lookPath(name string, dirs ...string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range dirs {
		if p := filepath.Join(d, name); isFile(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Available reports whether tests can have a database, and if not why.
func Available() (bool, string) {
	if os.Getenv(EnvURL) != "" {
		return true, ""
	}
	why := os.Getenv(envNoServer)
	if why == "" {
		why = EnvURL + " is unset and pgtest.Main did not start a server"
	}
	return false, why
}

// URL returns a DATABASE_URL for t whose Devy data starts empty: the
// server's database with search_path set to a fresh schema, which is
// dropped when t ends. (A schema is as good as a database for Devy and far
// cheaper to make.) See the package doc for when t is skipped or failed.
func URL(t testing.TB) string {
	t.Helper()
	ok, why := Available()
	if !ok {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required in CI, but: %s", why)
		}
		t.Skipf("*** PostgreSQL NOT TESTED: %s. Set %s to a postgres:// URL, or install PostgreSQL. ***", why, EnvURL)
	}
	admin := os.Getenv(EnvURL)
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL", EnvURL)
	}
	schema := "devy_test_" + randomHex(6)
	adminExec := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return fmt.Errorf("cannot reach the PostgreSQL of %s: %w", EnvURL, err)
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := adminExec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create a test schema: %v", err)
	}
	t.Cleanup(func() {
		if err := adminExec("DROP SCHEMA IF EXISTS " + schema + " CASCADE"); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// HostPort is where url's server listens, for proxying to it.
func HostPort(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "5432"
	}
	if host == "" || strings.HasPrefix(host, "/") {
		return "", fmt.Errorf("pgtest: %s must name a TCP host", EnvURL)
	}
	return net.JoinHostPort(host, port), nil
}
