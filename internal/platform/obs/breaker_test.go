package obs

import (
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
)

// The gauge follows a breaker through closed, open and half-open, and two
// breakers live side by side under their names.
func TestBreakerState(t *testing.T) {
	tripped := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{
		Name:        "redis-test",
		Timeout:     50 * time.Millisecond,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 1 },
	})
	idle := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{Name: "idle-test"})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(BreakerState(tripped), BreakerState(idle))

	want := func(state float64) {
		t.Helper()
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, f := range families {
			for _, m := range f.GetMetric() {
				if f.GetName() == "vitrine_breaker_state" && len(m.GetLabel()) == 1 && m.GetLabel()[0].GetName() == "breaker" {
					got[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
		if want := map[string]float64{"idle-test": 0, "redis-test": state}; !maps.Equal(got, want) {
			t.Fatalf("vitrine_breaker_state %v, want %v", got, want)
		}
	}
	want(0)
	_, _ = tripped.Execute(func() (int, error) { return 0, errors.New("Redis is down") })
	want(2)
	// Past its timeout the breaker lets a trial call through, with no call
	// made to move it there: the scrape sees half-open.
	time.Sleep(60 * time.Millisecond)
	want(1)
}
