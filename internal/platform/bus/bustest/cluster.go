package bustest

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/testwait"
)

// Cluster is three nats-server processes of the test's own, with
// JetStream, routed to one another, as the local cluster runs one per
// zone. They stop when the test ends.
type Cluster struct {
	Nodes []*Node
}

// Node is one server of a Cluster.
type Node struct {
	t      testing.TB
	Name   string
	URL    string // its client URL
	cmd    *exec.Cmd
	stderr testwait.Buffer
	exited chan struct{} // closed once the process has exited
	frozen bool
}

// StartCluster starts the three servers (nats-server must be installed:
// the test fails otherwise) and returns once each reports JetStream
// healthy, which takes a quorum of them. A port picked free may be taken
// by another process before its server binds it (tests run in parallel):
// a server that exits before it is healthy has the three started again on
// other ports, up to three times.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	if _, err := exec.LookPath("nats-server"); err != nil {
		t.Fatalf("nats-server is required for this test: %v", err)
	}
	var errs []string
	for range 3 {
		c, err := startCluster(t)
		if err == nil {
			return c
		}
		errs = append(errs, err.Error())
	}
	t.Fatalf("no NATS cluster started in three tries:\n%s", strings.Join(errs, "\n"))
	return nil
}

func startCluster(t testing.TB) (*Cluster, error) {
	const n = 3
	var client, route, monitor [n]int
	for i := range n {
		client[i], route[i], monitor[i] = testwait.FreePort(t), testwait.FreePort(t), testwait.FreePort(t)
	}
	var routes []string
	for i := range n {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", route[i]))
	}
	c := &Cluster{}
	dir := t.TempDir()
	for i := range n {
		node := &Node{t: t, Name: fmt.Sprintf("n%d", i+1), URL: fmt.Sprintf("nats://127.0.0.1:%d", client[i]),
			exited: make(chan struct{})}
		conf := filepath.Join(dir, node.Name+".conf")
		text := fmt.Sprintf("server_name: %s\nlisten: 127.0.0.1:%d\nhttp: 127.0.0.1:%d\n"+
			"jetstream { store_dir: %q }\ncluster { name: test, listen: 127.0.0.1:%d, routes: [%s] }\n",
			node.Name, client[i], monitor[i], filepath.Join(dir, node.Name), route[i], strings.Join(routes, ", "))
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		node.cmd = exec.Command("nats-server", "-c", conf)
		node.cmd.Stderr = &node.stderr
		if err := node.cmd.Start(); err != nil {
			t.Fatalf("nats-server: %v", err)
		}
		go func() { _ = node.cmd.Wait(); close(node.exited) }()
		t.Cleanup(node.stop) // stop may run twice: once here, once on a failed try
		c.Nodes = append(c.Nodes, node)
	}
	for i, node := range c.Nodes {
		if err := node.waitHealthy(fmt.Sprintf("http://127.0.0.1:%d/healthz", monitor[i])); err != nil {
			for _, n := range c.Nodes {
				n.stop()
			}
			return nil, err
		}
	}
	return c, nil
}

// URL lists every node's client URL, as --nats-url takes them.
func (c *Cluster) URL() string {
	var urls []string
	for _, n := range c.Nodes {
		urls = append(urls, n.URL)
	}
	return strings.Join(urls, ",")
}

// Node returns the node whose client URL is url, or nil.
func (c *Cluster) Node(url string) *Node {
	for _, n := range c.Nodes {
		if n.URL == url {
			return n
		}
	}
	return nil
}

// Freeze stops the node with SIGSTOP: its sockets stay open, its port
// still accepts connections, nothing is answered. Thaw, or the end of the
// test, resumes it.
func (n *Node) Freeze() {
	n.t.Helper()
	if !testwait.Freeze(n.t, n.cmd.Process.Pid) {
		n.t.Fatalf("NATS node %s is not running", n.Name)
	}
	n.frozen = true
}

// Thaw resumes a frozen node.
func (n *Node) Thaw() {
	if n.frozen {
		testwait.Thaw(n.cmd.Process.Pid)
		n.frozen = false
	}
}

func (n *Node) stop() {
	n.Thaw()
	_ = n.cmd.Process.Kill()
	<-n.exited
}

// waitHealthy waits up to 60 s for the node's /healthz, and stops waiting
// at once if the node exits.
func (n *Node) waitHealthy(url string) error {
	client := &http.Client{Timeout: time.Second}
	var last string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case <-n.exited:
			return fmt.Errorf("NATS node %s exited before it was healthy: %s", n.Name, strings.TrimSpace(n.stderr.String()))
		default:
		}
		resp, err := client.Get(url)
		if err != nil {
			last = err.Error()
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		last = resp.Status
	}
	return fmt.Errorf("NATS node %s not healthy within 60s: %s", n.Name, last)
}
