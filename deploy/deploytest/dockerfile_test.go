package deploytest

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// image is the Dockerfile, parsed into its stages.
type image struct {
	stages []instructions.Stage
}

func readDockerfile(t *testing.T) image { return readDockerfileAt(t, "Dockerfile") }

// readDockerfileAt parses the Dockerfile at path, in the repository.
func readDockerfileAt(t *testing.T, path string) image {
	t.Helper()
	f, err := os.Open(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return image{stages: stages}
}

func (im image) final() instructions.Stage { return im.stages[len(im.stages)-1] }

// commands returns the commands of type T in stage s.
func commands[T instructions.Command](s instructions.Stage) []T {
	var out []T
	for _, c := range s.Commands {
		if c, ok := c.(T); ok {
			out = append(out, c)
		}
	}
	return out
}

// last returns the last command of type T in s, which is the one in force.
func last[T instructions.Command](t *testing.T, s instructions.Stage, what string) T {
	t.Helper()
	cs := commands[T](s)
	if len(cs) == 0 {
		t.Fatalf("the final stage has no %s", what)
	}
	return cs[len(cs)-1]
}

// env returns the value stage s sets for name, and whether it sets it.
func env(s instructions.Stage, name string) (string, bool) {
	var v string
	var ok bool
	for _, c := range commands[*instructions.EnvCommand](s) {
		for _, kv := range c.Env {
			if kv.Key == name {
				v, ok = kv.Value, true
			}
		}
	}
	return v, ok
}

func TestDockerfileBuildsAStaticBinaryWithTheGoOfGoMod(t *testing.T) {
	im := readDockerfile(t)
	if len(im.stages) < 2 {
		t.Fatalf("%d stage(s): want a build stage and a final one", len(im.stages))
	}
	build := im.stages[0]
	goMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(goMod)
	if goVersion == nil {
		t.Fatal("go.mod names no Go version")
	}
	if want := "golang:" + string(goVersion[1]); !strings.HasPrefix(build.BaseName, want) {
		t.Errorf("build stage FROM %s, want %s (the Go of go.mod)", build.BaseName, want)
	}

	var goBuild string
	for _, run := range commands[*instructions.RunCommand](build) {
		if line := strings.Join(run.CmdLine, " "); strings.Contains(line, "go build") {
			goBuild = line
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags="-s -w"`, "./cmd/vitrine"} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("the go build command %q lacks %s", goBuild, want)
		}
	}
	var copied bool
	for _, c := range commands[*instructions.CopyCommand](im.final()) {
		copied = copied || c.From == build.Name && slices.Contains(c.SourcePaths, "/out/vitrine")
	}
	if !copied {
		t.Error("the final stage does not copy the binary from the build stage")
	}
}

func TestDockerfileRunsAsNonRootWithNoShell(t *testing.T) {
	final := readDockerfile(t).final()
	// Distroless "static" has no shell (its :debug variants have busybox).
	if !(strings.HasPrefix(final.BaseName, "gcr.io/distroless/static") && !strings.Contains(final.BaseName, "debug")) && final.BaseName != "scratch" {
		t.Errorf("final stage FROM %s: want distroless/static or scratch, which have no shell", final.BaseName)
	}
	if runs := commands[*instructions.RunCommand](final); len(runs) > 0 {
		t.Errorf("the final stage RUNs %q: an image with no shell has nothing to run it", runs[0].CmdLine)
	}
	user := last[*instructions.UserCommand](t, final, "USER").User
	if !regexp.MustCompile(`^[1-9][0-9]*(:[1-9][0-9]*)?$`).MatchString(user) {
		t.Errorf("USER %s: want a numeric uid (and gid) other than 0, which Kubernetes' runAsNonRoot can check", user)
	}
	entry := last[*instructions.EntrypointCommand](t, final, "ENTRYPOINT")
	if entry.PrependShell {
		t.Errorf("ENTRYPOINT %q is in shell form: there is no shell", entry.CmdLine)
	}
}

func TestDockerfileHealthCheckRunsTheBinaryInExecForm(t *testing.T) {
	final := readDockerfile(t).final()
	health := last[*instructions.HealthCheckCommand](t, final, "HEALTHCHECK").Health
	entry := last[*instructions.EntrypointCommand](t, final, "ENTRYPOINT").CmdLine
	if len(health.Test) < 3 || health.Test[0] != "CMD" {
		t.Fatalf("HEALTHCHECK %q: want the exec form (CMD [...]), as there is no shell", health.Test)
	}
	if health.Test[1] != entry[0] || health.Test[2] != "healthcheck" {
		t.Errorf("HEALTHCHECK runs %q, want %s healthcheck", health.Test[1:], entry[0])
	}
	addr, _ := env(final, "VITRINE_ADDR")
	port := addr[strings.LastIndex(addr, ":")+1:]
	if url := strings.Join(health.Test, " "); !strings.Contains(url, "127.0.0.1:"+port+"/healthz") {
		t.Errorf("HEALTHCHECK %q does not ask /healthz on the port the image listens on (VITRINE_ADDR=%s)", health.Test, addr)
	}
	if health.Timeout <= 0 || health.Interval <= 0 {
		t.Errorf("HEALTHCHECK interval %v, timeout %v: want both set", health.Interval, health.Timeout)
	}
	exposed := commands[*instructions.ExposeCommand](final)
	if len(exposed) == 0 || !slices.Contains(exposed[0].Ports, port) {
		t.Errorf("the image listens on %s but does not EXPOSE it", port)
	}
}

func TestDockerfileWritesOnlyToItsDataVolume(t *testing.T) {
	final := readDockerfile(t).final()
	dataDir, ok := env(final, "VITRINE_DATA_DIR")
	if !ok {
		t.Fatal("the image does not set VITRINE_DATA_DIR: --data-dir would be ./data under an unknown directory")
	}
	volumes := last[*instructions.VolumeCommand](t, final, "VOLUME").Volumes
	if !slices.Contains(volumes, dataDir) {
		t.Errorf("VOLUME %q does not hold the data directory %s: with a read-only root file system the stores could not be written", volumes, dataDir)
	}
	if wd := last[*instructions.WorkdirCommand](t, final, "WORKDIR").Path; wd != dataDir {
		t.Errorf("WORKDIR %s, want the writable data directory %s", wd, dataDir)
	}
}

func TestDockerignoreSendsTheSourcesAndNotTheSecrets(t *testing.T) {
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	ignored := func(path string) bool {
		m, err := pm.MatchesOrParentMatches(path)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	// What the build stage copies must reach it.
	for _, c := range commands[*instructions.CopyCommand](readDockerfile(t).stages[0]) {
		for _, src := range c.SourcePaths {
			if ignored(strings.TrimSuffix(src, "/")) {
				t.Errorf("COPY %s: .dockerignore leaves it out of the build context", src)
			}
		}
	}
	for _, path := range []string{"cmd/vitrine/main.go", "internal/modules/config.go", "api/openapi.json"} {
		if ignored(path) {
			t.Errorf("%s is left out of the build context", path)
		}
	}
	for _, path := range []string{".git/config", "deploy/compose/secrets/postgres-url", ".cluster/cursor-secret", "data/product.db", "vitrine", "cmd/vitrine/main_test.go"} {
		if !ignored(path) {
			t.Errorf("%s would be sent to the image builder", path)
		}
	}
}

// The edge's image: Debian's Varnish with xkey and the exporter of the same
// release, as an unprivileged user that Kubernetes can check, with
// varnishd's working directory writable by it.
func TestVarnishDockerfileInstallsDebiansVarnishXkeyAndExporter(t *testing.T) {
	final := readDockerfileAt(t, "deploy/varnish/Dockerfile").final()
	if !regexp.MustCompile(`^debian:[a-z]+(-slim)?$`).MatchString(final.BaseName) {
		t.Errorf("FROM %s: want a Debian release, whose varnish packages it installs", final.BaseName)
	}
	var run string
	for _, r := range commands[*instructions.RunCommand](final) {
		run += strings.Join(r.CmdLine, " ") + "\n"
	}
	for _, pkg := range []string{"varnish", "varnish-modules", "prometheus-varnish-exporter"} {
		if !regexp.MustCompile(`apt-get install [^\n]*\s` + regexp.QuoteMeta(pkg) + `(\s|$)`).MatchString(run) {
			t.Errorf("the image does not install %s", pkg)
		}
	}
	user := last[*instructions.UserCommand](t, final, "USER").User
	if !regexp.MustCompile(`^[1-9][0-9]*(:[1-9][0-9]*)?$`).MatchString(user) {
		t.Errorf("USER %s: want a numeric uid (and gid) other than 0", user)
	}
	uid, _, _ := strings.Cut(user, ":")
	if !strings.Contains(run, "chown -R "+uid) || !strings.Contains(run, "/var/lib/varnish") {
		t.Errorf("/var/lib/varnish, varnishd's working directory, is not the user %s's", uid)
	}
}
