package bus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/bus"
	"github.com/vitrine-dev/vitrine/internal/platform/bus/bustest"
)

// When the node the bus is connected to freezes (SIGSTOP: its socket
// stays open, nothing answers), each publish fails within its deadline
// instead of hanging; the bus's pings find the node out and it
// reconnects to another node of the list; publishes with a message id
// (the outbox relay's) are acknowledged again, by the stream replicated
// on three nodes, and a shared consumer receives them.
func TestBusMovesPastAFrozenNode(t *testing.T) {
	cluster := bustest.StartCluster(t)
	ctx := context.Background()
	b, err := bus.Open(ctx, bus.Config{URL: cluster.URL(), Name: t.Name(), DataDir: t.TempDir(), Replicas: 3,
		Streams: []bus.Stream{{Name: "TEST", Subjects: []string{"test.>"}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	received := make(chan string, 100)
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		_ = b.Consume(cctx, bus.Subscription{Stream: "TEST", Durable: "failover"}, func(_ context.Context, m bus.Msg) error {
			received <- string(m.Data)
			return nil
		})
	}()
	publish := func(id string) error {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second) // the relay's deadline for one event
		defer cancel()
		return b.Publish(pctx, "test.event", id, []byte(id))
	}
	if err := publish("before"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, received, "before")

	frozen := cluster.Node(b.Server())
	if frozen == nil {
		t.Fatalf("the bus is connected to %q, not a node of the cluster", b.Server())
	}
	frozen.Freeze()
	defer frozen.Thaw()
	start := time.Now()
	var slowest time.Duration
	for i := 0; ; i++ {
		if time.Since(start) > 60*time.Second {
			t.Fatal("no publish was acknowledged within 60s of the node's freeze")
		}
		attempt := time.Now()
		err := publish(fmt.Sprintf("after-%d", i))
		slowest = max(slowest, time.Since(attempt))
		if err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond) // the relay pauses too
	}
	t.Logf("publishes acknowledged again %s after the node froze (now on %s); the slowest attempt took %s",
		time.Since(start).Round(time.Millisecond), b.Server(), slowest.Round(time.Millisecond))
	if slowest > 6*time.Second {
		t.Errorf("a publish took %s, past its 5s deadline", slowest)
	}
	if b.Server() == frozen.URL {
		t.Errorf("still connected to the frozen node")
	}
	if err := publish("last"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, received, "last")
	t.Logf("the shared consumer received an event published after the freeze %s after it", time.Since(start).Round(time.Millisecond))
}

// waitFor waits up to 30 s for the consumer to receive want.
func waitFor(t *testing.T, received <-chan string, want string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case got := <-received:
			if got == want {
				return
			}
		case <-timeout:
			t.Fatalf("the consumer did not receive %q within 30s", want)
		}
	}
}
