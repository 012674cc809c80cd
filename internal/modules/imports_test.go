package modules_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestServicesDoNotImportEachOther keeps the architecture visible: a
// service talks to another only through events or an interface it
// declares, and foundation code never imports a service.
func TestServicesDoNotImportEachOther(t *testing.T) {
	const root = "github.com/vitrine-dev/vitrine/internal/"
	services := []string{"product", "auth", "search", "analytics"}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	owner := func(pkg string) string {
		rest, ok := strings.CutPrefix(pkg, root)
		if !ok {
			return ""
		}
		first, _, _ := strings.Cut(rest, "/")
		return first
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, imports := fields[0], fields[1:]
		from := owner(pkg)
		for _, imp := range imports {
			to := owner(imp)
			if to == "" || to == from {
				continue
			}
			switch {
			case from == "platform" || from == "events":
				if to != "platform" && to != "events" {
					t.Errorf("foundation package %s imports %s", pkg, imp)
				}
			case slices.Contains(services, from) && slices.Contains(services, to):
				t.Errorf("service package %s imports another service: %s", pkg, imp)
			}
		}
	}
}
