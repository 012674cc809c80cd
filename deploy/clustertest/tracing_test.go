package clustertest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// testTracing: a product written through HAProxy with a traceparent the
// client chose can be read back from Jaeger as one trace: the product
// service's server span, its outbox relay publishing the event, and the
// search and analytics services consuming it, each in its own process.
func testTracing(c *cluster) {
	t := c.t
	admin := c.login(adminEmail, adminPassword)
	traceID, parent := randomHex(16), randomHex(8)
	body := map[string]any{"name": "Traced Teapot", "brand": "Acme", "status": "active",
		"variants": []any{map[string]any{"sku": "TRC-TEA-1", "price": map[string]any{"amount": 2599, "currency": "EUR"}, "stock": 3}}}
	var p struct{ ID string }
	c.expect(201, "POST", "/api/products", admin, body, "Traceparent", "00-"+traceID+"-"+parent+"-01").json(t, &p)
	subject := "catalog.product." + p.ID

	want := []struct{ service, operation, kind string }{
		{"vitrine-product", "POST /api/products", "server"},
		{"vitrine-product", "outbox relay " + subject, "internal"},
		{"vitrine-product", "publish " + subject, "producer"},
		{"vitrine-search", "process " + subject, "consumer"},
		{"vitrine-analytics", "process " + subject, "consumer"},
	}
	// Spans reach Jaeger in batches, every few seconds from each process.
	var tr jaegerTrace
	var missing []string
	deadline := time.Now().Add(time.Minute)
	for {
		tr, missing = c.jaegerTrace(traceID), nil
		for _, w := range want {
			if !tr.has(w.service, w.operation, w.kind) {
				missing = append(missing, fmt.Sprintf("%s %q (%s)", w.service, w.operation, w.kind))
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if len(missing) > 0 {
		t.Fatalf("trace %s lacks %s; it holds:\n%s", traceID, strings.Join(missing, ", "), tr)
	}
	for _, s := range tr.Spans {
		if s.TraceID != traceID {
			t.Errorf("span %q is in trace %s, want %s", s.OperationName, s.TraceID, traceID)
		}
	}
	server := tr.find("vitrine-product", "POST /api/products")
	if !server.childOf(parent) {
		t.Errorf("the server span's parent is not the client's span %s: %+v", parent, server.References)
	}
	t.Logf("trace %s: %d spans from %v:\n%s", traceID, len(tr.Spans), tr.services(), tr)
}

// jaegerTrace reads one trace from Jaeger's query API; an unknown trace
// reads as empty.
func (c *cluster) jaegerTrace(id string) jaegerTrace {
	c.t.Helper()
	res, err := c.client.Get(c.layout.JaegerURL + "/api/traces/" + id)
	if err != nil {
		c.t.Fatalf("Jaeger: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		return jaegerTrace{}
	}
	var out struct{ Data []jaegerTrace }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK {
		c.t.Fatalf("Jaeger: status %d, %v", res.StatusCode, err)
	}
	if len(out.Data) == 0 {
		return jaegerTrace{}
	}
	return out.Data[0]
}

// jaegerTrace is a trace as Jaeger's query API answers it.
type jaegerTrace struct {
	Spans     []jaegerSpan
	Processes map[string]struct{ ServiceName string }
}

type jaegerSpan struct {
	TraceID       string
	SpanID        string
	OperationName string
	ProcessID     string
	References    []struct{ RefType, TraceID, SpanID string }
	Tags          []struct {
		Key   string
		Value any
	}
}

func (tr jaegerTrace) has(service, operation, kind string) bool {
	for _, s := range tr.Spans {
		if tr.Processes[s.ProcessID].ServiceName == service && s.OperationName == operation && s.kind() == kind {
			return true
		}
	}
	return false
}

func (tr jaegerTrace) find(service, operation string) jaegerSpan {
	for _, s := range tr.Spans {
		if tr.Processes[s.ProcessID].ServiceName == service && s.OperationName == operation {
			return s
		}
	}
	return jaegerSpan{}
}

func (tr jaegerTrace) services() []string {
	var out []string
	for _, p := range tr.Processes {
		if !slices.Contains(out, p.ServiceName) {
			out = append(out, p.ServiceName)
		}
	}
	slices.Sort(out)
	return out
}

func (tr jaegerTrace) String() string {
	var b strings.Builder
	for _, s := range tr.Spans {
		fmt.Fprintf(&b, "  %s %q (%s)\n", tr.Processes[s.ProcessID].ServiceName, s.OperationName, s.kind())
	}
	return b.String()
}

// kind is the span's kind; Jaeger leaves the tag out for internal spans.
func (s jaegerSpan) kind() string {
	for _, tag := range s.Tags {
		if tag.Key == "span.kind" {
			return fmt.Sprint(tag.Value)
		}
	}
	return "internal"
}

func (s jaegerSpan) childOf(spanID string) bool {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" && r.SpanID == spanID {
			return true
		}
	}
	return false
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
