package localcluster

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// buildVitrine builds the binary every instance runs, unless
// VITRINE_BIN_PREBUILT says it is there.
func (c *Cluster) buildVitrine(ctx context.Context) error {
	if c.Config.VitrinePrebuilt {
		return nil
	}
	c.logf("building vitrine")
	build := exec.CommandContext(ctx, "go", "build", "-o", c.Config.VitrineBin, "./cmd/vitrine")
	build.Dir = c.Config.Root
	return runCmd(build)
}

// BuildJaeger builds Jaeger once per machine and returns its path: its
// dependencies are many, so the build takes minutes, at the lowest
// priority, and is kept for every later run. One build at a time: a second
// caller waits for the first ("make test" starts one early, in the
// background, and the cluster test waits for it).
func (c *Cluster) BuildJaeger(ctx context.Context) (string, error) {
	bin := c.Config.JaegerBin
	if isExecutable(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(bin+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close() // and so unlocked
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	if isExecutable(bin) {
		return bin, nil // built while this waited
	}
	c.logf("building Jaeger into %s (once; this takes minutes)", bin)
	build := exec.CommandContext(ctx, "nice", "-n", "19", "go", "build", "-o", bin+".tmp", "github.com/jaegertracing/jaeger/cmd/jaeger")
	build.Dir = filepath.Join(c.Config.Root, "deploy", "tools")
	if err := runCmd(build); err != nil {
		return "", err
	}
	return bin, os.Rename(bin+".tmp", bin)
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// installS3 builds the S3 gateway once (deploy/local/install-s3.sh, which
// "make s3-server" runs for the tests too).
func (c *Cluster) installS3(ctx context.Context) error {
	script := exec.CommandContext(ctx, filepath.Join(c.Config.Root, "deploy", "local", "install-s3.sh"))
	if err := runCmd(script); err != nil {
		return fmt.Errorf("the S3 gateway could not be built: %w", err)
	}
	return nil
}

// installDeps installs HAProxy, Prometheus, Patroni, etcd, Redis Sentinel
// and socat (for the cluster test) from Debian's packages when one is
// missing (deploy/local/install-deps.sh).
func (c *Cluster) installDeps(ctx context.Context) error {
	missing := false
	for _, bin := range []string{"haproxy", "prometheus", "patroni", "etcd", "redis-sentinel", "socat"} {
		_, err := exec.LookPath(bin)
		missing = missing || err != nil
	}
	if !missing {
		return nil
	}
	script := exec.CommandContext(ctx, filepath.Join(c.Config.Root, "deploy", "local", "install-deps.sh"))
	if err := runCmd(script); err != nil {
		return fmt.Errorf("the cluster's programs could not be installed: %w", err)
	}
	return nil
}

// makeCert makes HAProxy's self-signed certificate for localhost and
// 127.0.0.1 (30 days), once: tls/cert.pem, tls/key.pem, and both in
// tls/cluster.pem as HAProxy reads them.
func (c *Cluster) makeCert() error {
	pemFile := c.path("tls", "cluster.pem")
	if st, err := os.Stat(pemFile); err == nil && st.Size() > 0 {
		return nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(30 * 24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP(loopback)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return errors.Join(
		os.WriteFile(c.path("tls", "cert.pem"), cert, 0o644),
		os.WriteFile(c.path("tls", "key.pem"), keyPEM, 0o600),
		os.WriteFile(pemFile, append(cert, keyPEM...), 0o600),
	)
}

// makeCursorSecret makes the secret every product instance signs its
// listing cursors with, once.
func (c *Cluster) makeCursorSecret() error {
	file := c.path("cursor-secret")
	if st, err := os.Stat(file); err == nil && st.Size() > 0 {
		return nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	return os.WriteFile(file, []byte(hex.EncodeToString(b)+"\n"), 0o600)
}

// alreadyExists says whether "vitrine user create" refused a user that is
// there from an earlier "up".
func alreadyExists(output []byte) bool { return bytes.Contains(output, []byte("already exists")) }
