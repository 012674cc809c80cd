package deploytest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// The schemas every rendered object is validated against, as kubeconform
// does in its strict mode, with a JSON Schema validator
// (santhosh-tekuri/jsonschema) rather than kubeconform itself, which
// fetches its schemas over HTTP:
//
//   - built-in kinds: the OpenAPI v3 documents of the Kubernetes release
//     whose API types this module builds against (k8s.io/api v0.X.Y:
//     k8s.io/kubernetes v1.X.Y, api/openapi-spec/v3), taken from the Go
//     module cache, downloaded there through the module proxy on the first
//     run, verified by the go command against the checksum database;
//   - custom resources: the CustomResourceDefinitions in testdata/crds,
//     copied from their operator's release (testdata/crds/SOURCE.md, whose
//     SHA-256 sums this file checks).
//
// Strict, as "kubectl apply" is by default: a field the schema does not
// declare fails, except where the schema keeps unknown fields
// (x-kubernetes-preserve-unknown-fields). Not checked: the CEL rules of
// the CRDs (x-kubernetes-validations) and the validation the API server
// and the operators' webhooks do in Go.

// schemas maps "apiVersion kind" to the schema of that kind.
type schemas map[string]*jsonschema.Schema

var loadSchemas = sync.OnceValues(func() (schemas, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4) // OpenAPI 3.0's schema objects
	index := map[string]string{}      // "apiVersion kind" -> schema location
	dir, err := kubernetesOpenAPI()
	if err != nil {
		return nil, err
	}
	for _, file := range []string{"api__v1", "apis__apps__v1", "apis__autoscaling__v2", "apis__policy__v1", "apis__networking.k8s.io__v1"} {
		if err := addOpenAPI(c, index, filepath.Join(dir, file+"_openapi.json")); err != nil {
			return nil, err
		}
	}
	crds, err := filepath.Glob("testdata/crds/*.yaml")
	if err != nil || len(crds) == 0 {
		return nil, fmt.Errorf("no CustomResourceDefinition in testdata/crds (%v)", err)
	}
	for _, path := range crds {
		if err := addCRD(c, index, path); err != nil {
			return nil, err
		}
	}
	out := schemas{}
	for gvk, loc := range index {
		s, err := c.Compile(loc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", gvk, err)
		}
		out[gvk] = s
	}
	return out, nil
})

// kubernetesOpenAPI returns the directory of the OpenAPI v3 documents of
// the Kubernetes release of this module's k8s.io/api.
func kubernetesOpenAPI() (string, error) {
	version, err := moduleVersion("k8s.io/api")
	if err != nil {
		return "", err
	}
	minor, ok := strings.CutPrefix(version, "v0.")
	if !ok {
		return "", fmt.Errorf("k8s.io/api at %q: want v0.X.Y", version)
	}
	cmd := exec.Command(goCommand(), "mod", "download", "-json", "k8s.io/kubernetes@v1."+minor)
	cmd.Dir = os.TempDir() // outside this module: its go.mod and go.sum stay as they are
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var mod struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &mod); err != nil || jerr != nil || mod.Error != "" {
		return "", fmt.Errorf("go mod download k8s.io/kubernetes@v1.%s: %v %s %s", minor, err, mod.Error, stderr.String())
	}
	return filepath.Join(mod.Dir, "api/openapi-spec/v3"), nil
}

// moduleVersion is the version of a module this module builds with.
func moduleVersion(path string) (string, error) {
	out, err := exec.Command(goCommand(), "list", "-m", "-f", "{{.Version}}", path).Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s: %w", path, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// goCommand is the go command that runs this test: go test puts its
// GOROOT/bin first in the PATH.
func goCommand() string { return "go" }

// addOpenAPI adds one of Kubernetes' OpenAPI documents, made strict, and
// indexes the kinds it defines.
func addOpenAPI(c *jsonschema.Compiler, index map[string]string, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	url := "k8s:///" + filepath.Base(path)
	components, _ := doc.(map[string]any)["components"].(map[string]any)
	defs, _ := components["schemas"].(map[string]any)
	for name, def := range defs {
		strictAny(def)
		gvks, _ := def.(map[string]any)["x-kubernetes-group-version-kind"].([]any)
		for _, g := range gvks {
			g := g.(map[string]any)
			apiVersion := g["version"].(string)
			if group := g["group"].(string); group != "" {
				apiVersion = group + "/" + apiVersion
			}
			index[apiVersion+" "+g["kind"].(string)] = url + "#/components/schemas/" + name
		}
	}
	return c.AddResource(url, doc)
}

// objectMeta is where metadata's schema is, for custom resources, whose
// CRDs leave it to the API server.
const objectMeta = "k8s:///api__v1_openapi.json#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

// addCRD adds the schema of each served version of a
// CustomResourceDefinition, made strict.
func addCRD(c *jsonschema.Compiler, index map[string]string, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := checkSum(path, b); err != nil {
		return err
	}
	var crd struct {
		Spec struct {
			Group string
			Names struct{ Kind string }
			// Versions as JSON values: UnmarshalJSON gives numbers as
			// json.Number, as the compiler wants them.
			Versions []json.RawMessage
		}
	}
	if err := yaml.Unmarshal(b, &crd); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, raw := range crd.Spec.Versions {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return err
		}
		version := v.(map[string]any)
		if served, _ := version["served"].(bool); !served {
			continue
		}
		schema := version["schema"].(map[string]any)["openAPIV3Schema"].(map[string]any)
		strict(schema)
		schema["properties"].(map[string]any)["metadata"] = map[string]any{"$ref": objectMeta}
		gvk := crd.Spec.Group + "/" + version["name"].(string) + " " + crd.Spec.Names.Kind
		url := "crd:///" + strings.ReplaceAll(gvk, " ", "/")
		if err := c.AddResource(url, schema); err != nil {
			return err
		}
		index[gvk] = url
	}
	return nil
}

// strict makes an OpenAPI schema a JSON Schema that refuses what the API
// server would: undeclared fields where fields are declared, unless
// unknown fields are kept; null where a field is nullable. It goes down
// every subschema but references, whose targets it is given on their own.
func strict(s map[string]any) {
	props, declared := s["properties"].(map[string]any)
	for _, p := range props {
		strictAny(p)
	}
	for _, k := range []string{"items", "additionalProperties", "not"} {
		strictAny(s[k])
	}
	for _, k := range []string{"allOf", "anyOf", "oneOf"} {
		list, _ := s[k].([]any)
		for _, sub := range list {
			strictAny(sub)
		}
	}
	_, open := s["additionalProperties"]
	if keep, _ := s["x-kubernetes-preserve-unknown-fields"].(bool); declared && !open && !keep {
		s["additionalProperties"] = false
	}
	if nullable, _ := s["nullable"].(bool); nullable {
		if t, ok := s["type"].(string); ok {
			s["type"] = []any{t, "null"}
		}
	}
	if intOrString, _ := s["x-kubernetes-int-or-string"].(bool); intOrString {
		if _, typed := s["type"]; !typed {
			s["type"] = []any{"integer", "string"}
		}
	}
}

func strictAny(s any) {
	if m, ok := s.(map[string]any); ok {
		strict(m)
	}
}

// checkSum holds a vendored file to the SHA-256 sum SOURCE.md gives it, so
// that it stays the operator's own.
func checkSum(path string, b []byte) error {
	source, err := os.ReadFile(filepath.Join(filepath.Dir(path), "SOURCE.md"))
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	want := hex.EncodeToString(sum[:]) + "  " + filepath.Base(path)
	if !strings.Contains(string(source), want) {
		return fmt.Errorf("%s: its SHA-256 sum is not in SOURCE.md (want the line %q): vendor the operator's file unchanged and record its source", path, want)
	}
	return nil
}

// validate checks one rendered object against the schema of its kind.
func validate(t *testing.T, obj map[string]any) error {
	t.Helper()
	all, err := loadSchemas()
	if err != nil {
		t.Fatalf("loading the schemas: %v", err)
	}
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	s, ok := all[apiVersion+" "+kind]
	if !ok {
		return fmt.Errorf("no schema for %s %s: add its CustomResourceDefinition to testdata/crds", apiVersion, kind)
	}
	// Through JSON, so that numbers are as the validator expects them.
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return s.Validate(v)
}

func TestEveryObjectMatchesItsSchema(t *testing.T) {
	each(t, func(t *testing.T, overlay string, m manifests) {
		valid := 0
		for _, obj := range m.objects {
			if err := validate(t, obj); err != nil {
				meta, _ := obj["metadata"].(map[string]any)
				t.Errorf("%s %s %v: %v", obj["apiVersion"], obj["kind"], meta["name"], err)
			} else {
				valid++
			}
		}
		t.Logf("%s: %d of %d objects valid", overlay, valid, len(m.objects))
	})
}

// TestSchemasRefuseWhatTheAPIServerWould breaks one field at a time of
// rendered objects: each must fail, or the test above proves nothing.
func TestSchemasRefuseWhatTheAPIServerWould(t *testing.T) {
	m := build(t, "prod-ha")
	byKind := map[string]map[string]any{}
	for _, obj := range m.objects {
		byKind[obj["kind"].(string)] = obj
	}
	for _, c := range []struct {
		kind, why string
		breaks    func(obj map[string]any)
	}{
		{"Cluster", "a misspelt field", func(o map[string]any) { dig(o, "spec", "postgresql", "synchronous")["numbr"] = 1 }},
		{"Cluster", "a value outside the enum", func(o map[string]any) { dig(o, "spec", "postgresql", "synchronous")["method"] = "all" }},
		{"Cluster", "a required field left out", func(o map[string]any) { delete(dig(o, "spec", "postgresql", "synchronous"), "number") }},
		{"Cluster", "a string for an integer", func(o map[string]any) { dig(o, "spec")["instances"] = "3" }},
		{"Cluster", "under the minimum", func(o map[string]any) { dig(o, "spec")["instances"] = 0 }},
		{"Cluster", "a field in metadata that ObjectMeta lacks", func(o map[string]any) { dig(o, "metadata")["label"] = map[string]any{} }},
		{"StatefulSet", "a misspelt field", func(o map[string]any) { dig(o, "spec")["replica"] = 3 }},
		{"StatefulSet", "a container without its name", func(o map[string]any) {
			delete(dig(o, "spec", "template", "spec", "containers")["0"].(map[string]any), "name")
		}},
		{"PodDisruptionBudget", "neither a number nor a percentage", func(o map[string]any) { dig(o, "spec")["maxUnavailable"] = true }},
		{"NetworkPolicy", "a field of the wrong type", func(o map[string]any) { dig(o, "spec")["policyTypes"] = "Ingress" }},
	} {
		t.Run(c.kind+"/"+c.why, func(t *testing.T) {
			obj := deepCopy(t, byKind[c.kind])
			if obj == nil {
				t.Fatalf("prod-ha renders no %s", c.kind)
			}
			if err := validate(t, obj); err != nil {
				t.Fatalf("unbroken, it fails already: %v", err)
			}
			c.breaks(obj)
			if err := validate(t, obj); err == nil {
				t.Errorf("%s with %s passes its schema", c.kind, c.why)
			} else if testing.Verbose() {
				t.Log(err)
			}
		})
	}
}

// dig returns the object at a path of keys; "0" indexes a list, which it
// returns as a map of its first element under "0".
func dig(obj map[string]any, path ...string) map[string]any {
	cur := obj
	for _, k := range path {
		switch v := cur[k].(type) {
		case map[string]any:
			cur = v
		case []any:
			cur = map[string]any{"0": v[0]}
		default:
			panic(fmt.Sprintf("no object at %q", k))
		}
	}
	return cur
}

func deepCopy(t *testing.T, obj map[string]any) map[string]any {
	if obj == nil {
		return nil
	}
	var out map[string]any
	if err := json.Unmarshal(must(json.Marshal(obj)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}
