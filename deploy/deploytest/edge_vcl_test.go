package deploytest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestSiteVCLsLoadAndTakePurgesOnTheirListenerOnly loads default.vcl with
// each deployment's site.vcl in a real varnishd (Debian's, "make varnish"),
// its backends moved to 127.0.0.1 (their names resolve where they are
// deployed, not here), with the listeners compose and Kubernetes give it:
// a PURGE on the public listener is refused whoever sends it, and on the
// purge listener the ACL decides (loopback is no deployment's purger).
func TestSiteVCLsLoadAndTakePurgesOnTheirListenerOnly(t *testing.T) {
	bin, err := exec.LookPath("varnishd")
	if err != nil {
		bin = "/usr/sbin/varnishd"
		if _, err := os.Stat(bin); err != nil {
			t.Fatal("varnishd is not installed: run make varnish (Debian's varnish and varnish-modules)")
		}
	}
	defaultVCL := must(os.ReadFile(filepath.Join(root, "deploy/varnish/default.vcl")))
	for name, site := range map[string]string{
		"compose":    "deploy/compose/varnish-site.vcl",
		"kubernetes": "deploy/k8s/base/varnish/site.vcl",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			vcl := must(os.ReadFile(filepath.Join(root, site)))
			vcl = regexp.MustCompile(`\.host = "[^"]+";`).ReplaceAll(vcl, []byte(`.host = "127.0.0.1";`))
			for file, b := range map[string][]byte{"default.vcl": defaultVCL, "site.vcl": vcl} {
				if err := os.WriteFile(filepath.Join(dir, file), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			public, purge := freePort(t), freePort(t)
			cmd := exec.Command(bin, "-F", "-j", "none", "-T", "none", "-n", filepath.Join(dir, "work"),
				"-a", fmt.Sprintf("http=127.0.0.1:%d", public), "-a", fmt.Sprintf("purge=127.0.0.1:%d", purge),
				"-f", filepath.Join(dir, "default.vcl"), "-p", "vcl_path="+dir, "-s", "malloc,16m")
			out, err := os.Create(filepath.Join(dir, "varnishd.log"))
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-exited
			})
			purgeOn := func(port int) int {
				req, _ := http.NewRequest("PURGE", fmt.Sprintf("http://127.0.0.1:%d/", port), nil)
				req.Header.Set("xkey-purge", "listings")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return 0
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			deadline := time.Now().Add(30 * time.Second)
			for purgeOn(public) == 0 {
				select {
				case err := <-exited:
					exited <- err
					t.Fatalf("varnishd exited (%v): %s", err, must(os.ReadFile(out.Name())))
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("varnishd does not answer: %s", must(os.ReadFile(out.Name())))
				}
				time.Sleep(100 * time.Millisecond)
			}
			if got := purgeOn(public); got != http.StatusMethodNotAllowed {
				t.Errorf("a PURGE on the public listener: %d, want 405", got)
			}
			if got := purgeOn(purge); got != http.StatusForbidden {
				t.Errorf("a PURGE from loopback on the purge listener: %d, want 403 (not a purger)", got)
			}
		})
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
