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
	frozen bool
}

// StartCluster starts the three servers (nats-server must be installed:
// the test fails otherwise) and returns once each reports JetStream
// healthy, which takes a quorum of them.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	if _, err := exec.LookPath("nats-server"); err != nil {
		t.Fatalf("nats-server is required for this test: %v", err)
	}
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
		node := &Node{t: t, Name: fmt.Sprintf("n%d", i+1), URL: fmt.Sprintf("nats://127.0.0.1:%d", client[i])}
		conf := filepath.Join(dir, node.Name+".conf")
		text := fmt.Sprintf("server_name: %s\nlisten: 127.0.0.1:%d\nhttp: 127.0.0.1:%d\n"+
			"jetstream { store_dir: %q }\ncluster { name: test, listen: 127.0.0.1:%d, routes: [%s] }\n",
			node.Name, client[i], monitor[i], filepath.Join(dir, node.Name), route[i], strings.Join(routes, ", "))
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		node.cmd = exec.Command("nats-server", "-c", conf)
		if err := node.cmd.Start(); err != nil {
			t.Fatalf("nats-server: %v", err)
		}
		t.Cleanup(node.stop)
		c.Nodes = append(c.Nodes, node)
	}
	for i, node := range c.Nodes {
		waitHealthy(t, node.Name, fmt.Sprintf("http://127.0.0.1:%d/healthz", monitor[i]))
	}
	return c
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
	_ = n.cmd.Process.Kill()
	_ = n.cmd.Wait()
}

func waitHealthy(t testing.TB, name, url string) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	var last string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := client.Get(url)
		if err != nil {
			last = err.Error()
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
		last = resp.Status
	}
	t.Fatalf("NATS node %s not healthy within 60s: %s", name, last)
}
