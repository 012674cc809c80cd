package flagenv

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const canary = "s3cr3t-canary"

func newFlags() (*flag.FlagSet, *string, *string) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	pg := fs.String("postgres-url", "", "")
	dir := fs.String("data-dir", "./data", "")
	return fs, pg, dir
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestSecretFromFile(t *testing.T) {
	for _, content := range []string{"postgres://u:" + canary + "@h/db\n", "postgres://u:" + canary + "@h/db\r\n", "postgres://u:" + canary + "@h/db"} {
		p := writeFile(t, content)
		for _, via := range []string{"flag", "env"} {
			fs, pg, _ := newFlags()
			var err error
			if via == "flag" {
				err = Parse(fs, []string{"--postgres-url-file", p}, env(nil), "V_")
			} else {
				err = Parse(fs, nil, env(map[string]string{"V_POSTGRES_URL_FILE": p}), "V_")
			}
			if err != nil {
				t.Fatalf("%s: %v", via, err)
			}
			if *pg != "postgres://u:"+canary+"@h/db" {
				t.Fatalf("%s %q: --postgres-url = %q", via, content, *pg)
			}
		}
	}
	// Only one newline goes.
	fs, pg, _ := newFlags()
	if err := Parse(fs, []string{"--postgres-url-file", writeFile(t, "x\n\n")}, env(nil), "V_"); err != nil || *pg != "x\n" {
		t.Fatalf("%q, %v", *pg, err)
	}
}

func TestSecretFileOnlyForSecrets(t *testing.T) {
	fs, _, _ := newFlags()
	if fs.Lookup("data-dir-file") != nil {
		t.Fatal("defined too early")
	}
	if err := Parse(fs, []string{"--data-dir-file", "x"}, env(nil), "V_"); err == nil {
		t.Fatal("--data-dir-file accepted; only secret flags have a file form")
	}
	if fs.Lookup("postgres-url-file") == nil {
		t.Fatal("no --postgres-url-file")
	}
}

func TestSecretAndFileBothGiven(t *testing.T) {
	p := writeFile(t, "from-file")
	for _, c := range []struct {
		args  []string
		env   map[string]string
		names []string
	}{
		{[]string{"--postgres-url", canary, "--postgres-url-file", p}, nil, []string{"--postgres-url ", "--postgres-url-file"}},
		{nil, map[string]string{"V_POSTGRES_URL": canary, "V_POSTGRES_URL_FILE": p}, []string{"V_POSTGRES_URL ", "V_POSTGRES_URL_FILE"}},
	} {
		fs, _, _ := newFlags()
		err := Parse(fs, c.args, env(c.env), "V_")
		if err == nil {
			t.Fatalf("%v %v: accepted", c.args, c.env)
		}
		for _, n := range c.names {
			if !strings.Contains(err.Error(), n) {
				t.Errorf("error %q does not name %s", err, n)
			}
		}
		if strings.Contains(err.Error(), canary) {
			t.Errorf("error %q shows the secret", err)
		}
	}
}

func TestCommandLineWinsOverEnvironmentForSecrets(t *testing.T) {
	p := writeFile(t, "from-file\n")
	fs, pg, _ := newFlags()
	if err := Parse(fs, []string{"--postgres-url", "from-flag"}, env(map[string]string{"V_POSTGRES_URL_FILE": p}), "V_"); err != nil || *pg != "from-flag" {
		t.Fatalf("%q, %v", *pg, err)
	}
	fs, pg, _ = newFlags()
	if err := Parse(fs, []string{"--postgres-url-file", p}, env(map[string]string{"V_POSTGRES_URL": "from-env"}), "V_"); err != nil || *pg != "from-file" {
		t.Fatalf("%q, %v", *pg, err)
	}
}

func TestSecretFileErrorsNamePathNotContent(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	fs, _, _ := newFlags()
	err := Parse(fs, []string{"--postgres-url-file", missing}, env(nil), "V_")
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "--postgres-url-file") {
		t.Fatalf("error %v does not name the flag and %s", err, missing)
	}
	// A directory is unreadable as a file.
	dir := t.TempDir()
	fs, _, _ = newFlags()
	if err := Parse(fs, nil, env(map[string]string{"V_POSTGRES_URL_FILE": dir}), "V_"); err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "V_POSTGRES_URL_FILE") {
		t.Fatalf("error %v does not name the variable and %s", err, dir)
	}
	fs, _, _ = newFlags()
	if err := Parse(fs, []string{"--postgres-url-file", writeFile(t, "\n")}, env(nil), "V_"); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty file: %v", err)
	}
}

func TestEnvironmentStillFillsFlags(t *testing.T) {
	fs, pg, dir := newFlags()
	if err := Parse(fs, []string{"--data-dir", "/flag"}, env(map[string]string{"V_DATA_DIR": "/env", "V_POSTGRES_URL": "pg"}), "V_"); err != nil {
		t.Fatal(err)
	}
	if *dir != "/flag" || *pg != "pg" {
		t.Fatalf("data-dir %q postgres-url %q", *dir, *pg)
	}
}
