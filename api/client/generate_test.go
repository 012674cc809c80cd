package client_test

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// TestGeneratedClientIsUpToDate: the committed client is what the generator
// makes of the committed document, so a change to one without the other
// fails the build.
func TestGeneratedClientIsUpToDate(t *testing.T) {
	committed, err := os.ReadFile("client.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("go", "tool", "oapi-codegen", "-config", "oapi-codegen.yaml", "../openapi.json")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, stderr.String())
	}
	if !bytes.Equal(stdout.Bytes(), committed) {
		t.Fatal("api/client/client.gen.go is not what api/openapi.json generates: run go generate ./api/client")
	}
}
