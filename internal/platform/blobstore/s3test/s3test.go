// Package s3test starts a real S3-compatible server for tests: Versity's S3
// gateway over a temporary directory, on a free port. deploy/local/install-s3.sh
// builds it; a test that needs it fails, naming that script, when it is
// missing.
package s3test

import (
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vitrine-dev/vitrine/internal/platform/testwait"
)

// Credentials of the server's root user; Start puts them in the standard
// AWS environment variables, where the S3 driver looks for them.
const (
	AccessKey = "vitrine-test"
	SecretKey = "vitrine-test-secret"
	Region    = "us-east-1"
)

// Server is a running S3 gateway.
type Server struct {
	Endpoint string // http://127.0.0.1:port

	t       testing.TB
	bin     string
	root    string // the posix backend's directory: one directory a bucket
	addr    string
	cmd     *exec.Cmd
	exited  chan error
	logPath string
}

// BlobURL is the blob store URL of bucket on s.
func (s *Server) BlobURL(bucket string) string {
	q := url.Values{"endpoint": {s.Endpoint}, "region": {Region}, "use_path_style": {"true"}}
	return "s3://" + bucket + "?" + q.Encode()
}

// binary returns the path of the gateway, failing t when it is not built.
func binary(t testing.TB) string {
	path := os.Getenv("VITRINE_S3_SERVER")
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatalf("s3test: no home directory to find the S3 server in: %v", err)
		}
		path = filepath.Join(home, ".cache", "vitrine", "bin", "versitygw")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("s3test: the S3 server is not built (%v): run deploy/local/install-s3.sh", err)
	}
	return path
}

// Start runs a gateway until the test ends and sets the AWS credential
// variables for the test.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, bin: binary(t), root: t.TempDir(), addr: "127.0.0.1:" + strconv.Itoa(testwait.FreePort(t)),
		logPath: filepath.Join(t.TempDir(), "versitygw.log")}
	s.Endpoint = "http://" + s.addr
	s.run()
	t.Cleanup(s.Stop)
	t.Setenv("AWS_ACCESS_KEY_ID", AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", SecretKey)
	t.Setenv("AWS_REGION", Region)
	return s
}

// run starts the gateway and waits until it listens.
func (s *Server) run() {
	t := s.t
	t.Helper()
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(s.bin, "--access", AccessKey, "--secret", SecretKey, "--region", Region,
		"--port", s.addr, "--quiet", "posix", s.root)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("s3test: start %s: %v", s.bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logFile.Close() }()
	s.cmd, s.exited = cmd, exited
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", s.addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(s.logPath)
			t.Fatalf("s3test: the S3 server exited (%v):\n%s", err, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("s3test: the S3 server did not listen on %s within 15 s", s.addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills the gateway; its buckets stay for Restart.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Restart starts a stopped gateway again, on the same port and buckets.
func (s *Server) Restart() { s.t.Helper(); s.run() }

// CreateBucket makes a bucket on s.
func (s *Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	client := s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("s3test: create bucket %s: %v", name, err)
	}
}
