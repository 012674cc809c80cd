package deploytest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// configFlag is nats-server's flag for its configuration file.
var configFlag = regexp.MustCompile(`^--?config$`)

// natsOptions reads the nats.conf the NATS StatefulSet mounts with
// nats-server's own parser, as the server does when it starts: a key it
// does not know, a value of the wrong kind, an undefined variable fail.
func natsOptions(t *testing.T, m manifests, set appsv1.StatefulSet) *server.Options {
	t.Helper()
	pod := set.Spec.Template.Spec
	c := pod.Containers[0]
	var conf string
	for i, arg := range c.Args {
		if configFlag.MatchString(arg) && i+1 < len(c.Args) {
			conf = c.Args[i+1]
		}
	}
	var data string
	found := mounted(pod, c, filepath.Dir(conf), func(v corev1.Volume) bool {
		if v.ConfigMap == nil {
			return false
		}
		d, ok := m.configMaps[v.ConfigMap.Name].Data[filepath.Base(conf)]
		data = d
		return ok
	})
	if conf == "" || !found {
		t.Fatalf("%s: its --config %q is not a file of a mounted ConfigMap", set.Name, conf)
	}
	path := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	// The pod's environment: SERVER_NAME is its name.
	for _, e := range c.Env {
		if e.Name == "SERVER_NAME" {
			t.Setenv(e.Name, set.Name+"-0")
		}
	}
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("%s: nats.conf: %v", set.Name, err)
	}
	if opts.ServerName != set.Name+"-0" {
		t.Errorf("server_name %q: want the pod's name", opts.ServerName)
	}
	return opts
}

// natsServerVersion is the release of nats-server this module reads
// nats.conf with (Vitrine's go.mod has the same).
func natsServerVersion(t *testing.T) string {
	v, err := moduleVersion("github.com/nats-io/nats-server/v2")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(v, "v")
}
