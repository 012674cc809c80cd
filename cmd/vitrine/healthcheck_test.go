package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// healthcheckRun runs "vitrine healthcheck" with args, as a container's
// HEALTHCHECK does, and returns its error and what it printed.
func healthcheckRun(args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"healthcheck"}, args...), func(string) string { return "" }, &stdout, &stderr)
	return stdout.String(), err
}

func TestHealthcheckPassesWhileVitrineServesAndFailsOnceItStopped(t *testing.T) {
	s := startServer(t, nil, "--data-dir", t.TempDir())
	out, err := healthcheckRun("--url", s.URL+"/healthz")
	if err != nil {
		t.Fatalf("healthcheck of a serving vitrine: %v", err)
	}
	if !strings.Contains(out, "200 OK") {
		t.Errorf("healthcheck printed %q, want the 200 it saw", out)
	}

	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := healthcheckRun("--url", s.URL+"/healthz", "--timeout", "1s"); err == nil {
		t.Error("healthcheck of a stopped vitrine passed")
	}
}

func TestHealthcheckFailsOnAnAnswerOtherThan200(t *testing.T) {
	draining := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
	}))
	defer draining.Close()
	_, err := healthcheckRun("--url", draining.URL+"/readyz")
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("healthcheck of an instance answering 503: error %v, want one naming the 503", err)
	}
}
