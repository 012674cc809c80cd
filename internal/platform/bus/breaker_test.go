package bus_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/events"
	"github.com/vitrine-dev/vitrine/internal/platform/bus"
	"github.com/vitrine-dev/vitrine/internal/platform/resilience"

	"github.com/vitrine-dev/vitrine/internal/platform/testwait"
)

// TestPublishBreaker: a NATS server of the test's own goes away. Publishes
// fail within the breaker's deadline, the breaker opens and then refuses
// at once; with the server back it tries again after OpenFor, closes, and
// publishing resumes on the same connection.
func TestPublishBreaker(t *testing.T) {
	srv := startNATS(t)
	policy := resilience.Policy{Timeout: 300 * time.Millisecond, FailureRatio: 0.5, MinRequests: 4, Window: 10 * time.Second, OpenFor: 500 * time.Millisecond}
	breakers := resilience.NewBreakers(policy, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Config{URL: srv.url(), Name: t.Name(), Streams: events.Streams(), Breakers: breakers,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	publish := func(i int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return b.Publish(ctx, events.ProductSubjectPrefix+strconv.Itoa(i), "m"+strconv.Itoa(i), []byte("v"))
	}
	if err := publish(0); err != nil {
		t.Fatalf("with NATS up: %v", err)
	}

	srv.stop()
	var refused error
	for i := 1; i <= 10 && refused == nil; i++ {
		start := time.Now()
		err := publish(i)
		if err == nil {
			t.Fatalf("publish %d acknowledged with NATS stopped", i)
		}
		// Three tries, each within the deadline, with waits between.
		if took := time.Since(start); took > 3*policy.Timeout+time.Second {
			t.Fatalf("publish %d took %s with a deadline of %s a try", i, took, policy.Timeout)
		}
		if errors.Is(err, resilience.ErrOpen) {
			refused = err
		}
	}
	if refused == nil {
		t.Fatal("the breaker never refused a publish with NATS stopped")
	}
	start := time.Now()
	if err := publish(99); !errors.Is(err, resilience.ErrOpen) || time.Since(start) > 100*time.Millisecond {
		t.Fatalf("an open breaker answered %v after %s; want ErrOpen at once", err, time.Since(start))
	}

	srv.start()
	deadline := time.Now().Add(15 * time.Second)
	for i := 100; ; i++ {
		if err := publish(i); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("publishing did not resume within 15s of NATS coming back")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// natsServer is a nats-server process with JetStream, on a fixed port and
// store, so that it comes back as it was.
type natsServer struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
}

func startNATS(t *testing.T) *natsServer {
	t.Helper()
	if _, err := exec.LookPath("nats-server"); err != nil {
		t.Fatalf("nats-server is required for this test: %v", err)
	}
	s := &natsServer{t: t, port: testwait.FreePort(t), dir: t.TempDir()}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *natsServer) url() string { return "nats://127.0.0.1:" + strconv.Itoa(s.port) }

func (s *natsServer) start() {
	s.t.Helper()
	monitor := testwait.FreePort(s.t)
	s.cmd = exec.Command("nats-server", "-a", "127.0.0.1", "-p", strconv.Itoa(s.port), "-js", "-sd", s.dir,
		"-m", strconv.Itoa(monitor))
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz?js-enabled-only=true", monitor))
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("nats-server did not become healthy: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *natsServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}
