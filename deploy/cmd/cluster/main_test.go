package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// A cluster in a directory of its own, on ports nothing listens on, never
// started: what the command says of it needs no process.
func env(t *testing.T) func(string) string {
	dir := t.TempDir()
	return func(name string) string {
		return map[string]string{"CLUSTER_DIR": dir, "CLUSTER_PORT_RANGE": "3", "CLUSTER_PORT": "39188", "HOME": dir}[name]
	}
}

func TestStatusJSONListsEveryProcessWithItsZonePidAndState(t *testing.T) {
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"status", "--json"}, env(t), &out, &errs); err != nil {
		t.Fatalf("%v: %s", err, errs.String())
	}
	var st struct {
		Processes []struct {
			Name, Zone, Host string
			Pid              *int
			Up               *bool
			Ports            map[string]int
		}
		Leaders map[string]string
		URL     string
		URLs    map[string]string
	}
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if st.URL != "http://127.0.0.1:39188" || st.URLs["postgres"] == "" || st.Leaders == nil {
		t.Errorf("url %q, urls %v, leaders %v", st.URL, st.URLs, st.Leaders)
	}
	names := map[string]bool{}
	for _, p := range st.Processes {
		names[p.Name] = true
		if p.Zone == "" || p.Host == "" || p.Pid == nil || p.Up == nil || *p.Up || len(p.Ports) == 0 {
			t.Errorf("%+v", p)
		}
	}
	for _, want := range []string{"pg-a", "etcd-b", "nats-c", "redis-a", "sentinel-b", "s3", "jaeger", "haproxy-c", "entry", "prometheus"} {
		if !names[want] {
			t.Errorf("no %s in %v", want, names)
		}
	}
}

func TestEnvPrintsShellAssignments(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"env"}, env(t), &out, &out); err != nil {
		t.Fatal(err)
	}
	// The shell reads them back as they were.
	script := out.String() + `printf '%s\n' "$CLUSTER_URL" "$CLUSTER_POSTGRES_URL"`
	got, err := exec.Command("sh", "-c", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if len(lines) != 2 || lines[0] != "http://127.0.0.1:39188" || !strings.Contains(lines[1], "?target_session_attrs=read-write&") {
		t.Errorf("the shell read %q from:\n%s", lines, out.String())
	}
}

func TestUnknownCommandsAndArgumentsAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"frob"}, {"scale", "product"}, {"status", "--yaml"}, {"kill"}, {"seed", "1", "2"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, env(t), &out, &out); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v", args, err)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"kill", "product-9"}, env(t), &out, &out); err == nil || !strings.Contains(err.Error(), "unknown process product-9") {
		t.Errorf("kill product-9: %v", err)
	}
}

func TestZoneFaultsNameAZoneOfTheLayout(t *testing.T) {
	var out bytes.Buffer
	for _, args := range [][]string{{"zone", "freeze", "d"}, {"zone", "thaw", "region"}} {
		err := run(context.Background(), args, env(t), &out, &out)
		if err == nil || !strings.Contains(err.Error(), "the zones are a, b, c") {
			t.Errorf("%v: %v", args, err)
		}
	}
	if err := run(context.Background(), []string{"zone", "melt", "a"}, env(t), &out, &out); !errors.Is(err, errUsage) {
		t.Errorf("zone melt a: %v", err)
	}
}
