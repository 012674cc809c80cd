package obs

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
)

// Breaker is what BreakerState reads of a circuit breaker: a
// gobreaker.CircuitBreaker of any type.
type Breaker interface {
	Name() string
	State() gobreaker.State
}

// BreakerState exports b's state as vitrine_breaker_state{breaker="NAME"}:
// 0 closed, 1 half-open, 2 open (gobreaker's own numbering). Every breaker
// of a process registers one, each with its own name.
//
// The state is read when /metrics is scraped rather than kept by the
// breaker's state-change hook: gobreaker moves an open breaker to
// half-open only when it is next used, so a gauge set by the hook would
// say "open" for as long as an idle instance makes no call.
func BreakerState(b Breaker) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "vitrine_breaker_state",
		Help:        "State of a circuit breaker: 0 closed, 1 half-open, 2 open.",
		ConstLabels: prometheus.Labels{"breaker": b.Name()},
	}, func() float64 { return float64(b.State()) })
}
