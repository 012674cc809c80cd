// Package tracing sets up OpenTelemetry traces: a tracer provider that
// exports over OTLP when an endpoint is given, and the W3C trace context
// that requests and events carry between services. With no endpoint there
// is no provider at all (nil): callers then install no instrumentation, so
// tracing that is off costs nothing.
package tracing

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Config says where spans go and whose they are.
type Config struct {
	// Endpoint is the OTLP/HTTP base URL of a collector (Jaeger, an
	// OpenTelemetry Collector), e.g. http://127.0.0.1:4318, read as
	// OTEL_EXPORTER_OTLP_ENDPOINT is: spans go to its /v1/traces. Empty
	// with FromEnv false turns tracing off.
	Endpoint string
	// FromEnv exports to where the standard OTEL_EXPORTER_OTLP_*
	// variables say, when Endpoint is empty.
	FromEnv bool
	// ServiceName names the process in the trace viewer, unless
	// OTEL_SERVICE_NAME does.
	ServiceName string
}

// Provider is a tracer provider that exports its spans. A nil *Provider is
// tracing turned off.
type Provider struct {
	sdk *sdktrace.TracerProvider
}

// Start returns the provider cfg asks for, or nil when tracing is off. The
// SDK reads the other OTEL_* variables itself (OTEL_TRACES_SAMPLER,
// OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS, ...).
func Start(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.Endpoint == "" && !cfg.FromEnv {
		return nil, nil
	}
	var opts []otlptracehttp.Option
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("tracing: endpoint %q is not an http(s) URL", cfg.Endpoint)
		}
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
		opts = append(opts, otlptracehttp.WithEndpointURL(u.String()))
	}
	exporter, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: exporter: %w", err)
	}
	// The environment (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) is
	// read last, so an operator's names win over the defaults.
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(cfg.ServiceName)),
		resource.WithHost(), resource.WithProcessPID(), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	return &Provider{sdk: sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))}, nil
}

// NewProvider wraps an SDK provider built elsewhere (tests export to memory).
func NewProvider(sdk *sdktrace.TracerProvider) *Provider { return &Provider{sdk: sdk} }

// TracerProvider returns the provider to hand to instrumentation, or nil
// when tracing is off.
func (p *Provider) TracerProvider() trace.TracerProvider {
	if p == nil {
		return nil
	}
	return p.sdk
}

// Shutdown exports the spans still buffered and stops the provider.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	return p.sdk.Shutdown(ctx)
}
