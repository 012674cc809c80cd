package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// ReportVersion is the version of the JSON report's shape. Fields may be
// added without changing it; renaming or removing one changes it.
const ReportVersion = 2

// Report is the outcome of a run. `vitrine bench --json` prints it as one
// JSON object, with these field names:
//
//	version                  ReportVersion
//	config                   what was run (see ReportConfig)
//	notes                    departures from what was asked (anonymous sessions, search fallback)
//	started_at               RFC 3339 time the load started (warm-up included)
//	elapsed_s                seconds of the measured window actually run
//	stopped                  "duration", or "cancelled" when stopped early
//	requests                 exchanges finished in the window: responses and transport errors
//	errors                   responses with status >= 400, plus transport errors
//	throughput_rps           requests / elapsed_s
//	latency_us               overall latency of responses, in microseconds (see Latency)
//	actions                  per action (login and refresh included), or per --path (see ActionReport)
//	sessions                 sessions started and their logins (see SessionReport)
//	status_codes             responses by status code ("200": n)
//	errors_by_status         the status codes >= 400 of status_codes
//	transport_errors         failed exchanges by kind: timeout, connection_refused,
//	                         connection_reset, eof, too_many_open_files,
//	                         address_not_available, dns, bad_response_body, other
//	transport_error_samples  one error message per kind
//	unfinished               requests still in flight when the run was cut off
//	missed_slots             requests due that were never sent: open-model slots, or closed-model users still waiting for a worker at the end (the target could not keep up)
//	client                   the load generator's own resources (see ClientReport)
//
// Latency runs from the intended send time (the end of the think time, or
// the open model's slot) to the last byte of the response. An action sent
// after a token refresh in the same turn counts the refresh in its latency.
//
// Version 2: login left the mix for sessions (config.mix has no "login";
// "skipped" is gone; "sessions" and the session and source-address fields
// of config and client are new).
type Report struct {
	Version               int               `json:"version"`
	Config                ReportConfig      `json:"config"`
	Notes                 []string          `json:"notes"`
	StartedAt             time.Time         `json:"started_at"`
	ElapsedSeconds        float64           `json:"elapsed_s"`
	Stopped               string            `json:"stopped"`
	Requests              int64             `json:"requests"`
	Errors                int64             `json:"errors"`
	Throughput            float64           `json:"throughput_rps"`
	Latency               Latency           `json:"latency_us"`
	Actions               []ActionReport    `json:"actions"`
	Sessions              SessionReport     `json:"sessions"`
	StatusCodes           map[string]int64  `json:"status_codes"`
	ErrorsByStatus        map[string]int64  `json:"errors_by_status"`
	TransportErrors       map[string]int64  `json:"transport_errors"`
	TransportErrorSamples map[string]string `json:"transport_error_samples"`
	Unfinished            int64             `json:"unfinished"`
	MissedSlots           int64             `json:"missed_slots"`
	Client                ClientReport      `json:"client"`
	Freshness             *FreshnessReport  `json:"freshness,omitempty"` // --write-every
}

// ReportConfig is the configuration of a run as the report states it.
type ReportConfig struct {
	Target          string         `json:"target"`
	Model           string         `json:"model"`    // "closed" or "open"
	Workload        string         `json:"workload"` // "mix" or "paths"
	Users           int            `json:"users"`    // closed model
	ThinkSeconds    float64        `json:"think_s"`  // closed model, mean
	Rate            float64        `json:"rate_rps"` // open model
	DurationSeconds float64        `json:"duration_s"`
	WarmupSeconds   float64        `json:"warmup_s"`
	TimeoutSeconds  float64        `json:"timeout_s"`
	Mix             map[string]int `json:"mix,omitempty"`   // workload "mix"
	Paths           []string       `json:"paths,omitempty"` // workload "paths"
	LogIn           bool           `json:"log_in"`          // workload "mix": sessions log in (credentials given)
	SessionActions  int            `json:"session_actions,omitempty"`
	SessionSeconds  float64        `json:"session_s,omitempty"` // longest session; 0: no limit
	Seed            uint64         `json:"seed,omitempty"`      // of the search query distribution
}

// SessionReport counts the sessions of the mix workload in the measured
// window. A session logs in once when it has credentials; a refused login
// is retried on the next action, and a failed refresh logs in again (three
// login attempts a session at most), so more than one login per session
// means the server turned logins or refreshes away.
// The cost of a login is the "login" row of the actions.
type SessionReport struct {
	Started          int64   `json:"started"`
	Logins           int64   `json:"logins"`             // login requests
	LoginsPerSession float64 `json:"logins_per_session"` // logins / started
	Refreshes        int64   `json:"refreshes"`          // token refresh requests
}

// Latency is a latency distribution in microseconds.
type Latency struct {
	P50  int64   `json:"p50"`
	P90  int64   `json:"p90"`
	P95  int64   `json:"p95"`
	P99  int64   `json:"p99"`
	P999 int64   `json:"p99_9"`
	Max  int64   `json:"max"`
	Mean float64 `json:"mean"`
}

// ActionReport is one action's (or one --path's) share of a run.
type ActionReport struct {
	Name        string           `json:"name"`
	Requests    int64            `json:"requests"`
	Errors      int64            `json:"errors"`
	Throughput  float64          `json:"throughput_rps"`
	Latency     Latency          `json:"latency_us"`
	StatusCodes map[string]int64 `json:"status_codes"`
}

// ClientReport is what the load generator itself used.
type ClientReport struct {
	Workers     int   `json:"workers"`        // goroutines sending requests
	Conns       int   `json:"conns_per_host"` // transport bound
	Hosts       int   `json:"hosts"`
	FDLimit     int64 `json:"fd_limit"`      // -1: unknown
	PeakOpenFDs int64 `json:"peak_open_fds"` // sampled; -1: unknown
	// SourceAddrs is how many addresses --source-addrs gave (0: none),
	// SourceAddrsUsed from how many connections were made.
	SourceAddrs     int `json:"source_addrs"`
	SourceAddrsUsed int `json:"source_addrs_used"`
}

func buildReport(o Options, m model, rec *recorder, work workload, start, measureFrom, stoppedAt time.Time) *Report {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	elapsed := max(0, stoppedAt.Sub(measureFrom).Seconds())
	perSecond := func(n int64) float64 {
		if elapsed == 0 {
			return 0
		}
		return float64(n) / elapsed
	}
	r := &Report{
		Version:               ReportVersion,
		Config:                reportConfig(o, m),
		Notes:                 append([]string{}, work.notes()...),
		StartedAt:             start,
		ElapsedSeconds:        elapsed,
		Requests:              rec.overall.requests,
		Errors:                rec.overall.errors,
		Throughput:            perSecond(rec.overall.requests),
		Latency:               latencyOf(rec.overall.hist),
		StatusCodes:           statusMap(rec.overall.statuses, 0),
		ErrorsByStatus:        statusMap(rec.overall.statuses, 400),
		TransportErrors:       maps.Clone(rec.transport),
		TransportErrorSamples: maps.Clone(rec.samples),
		Unfinished:            rec.unfinished,
	}
	_, isMix := work.(*mixWorkload)
	if isMix {
		r.Sessions = SessionReport{Started: rec.sessions, Logins: rec.perLabel[actLogin].requests, Refreshes: rec.perLabel[actRefresh].requests}
		if rec.sessions > 0 {
			r.Sessions.LoginsPerSession = float64(r.Sessions.Logins) / float64(rec.sessions)
		}
	}
	for i, name := range rec.labels {
		s := rec.perLabel[i]
		switch {
		case !isMix || s.requests > 0:
		case i < int(numMixActions) && o.Mix.weights()[i] == 0:
			continue // not in the mix: leave it out rather than show a zero row
		case i >= int(numMixActions) && o.Email == "":
			continue // anonymous sessions neither log in nor refresh
		}
		r.Actions = append(r.Actions, ActionReport{
			Name:        name,
			Requests:    s.requests,
			Errors:      s.errors,
			Throughput:  perSecond(s.requests),
			Latency:     latencyOf(s.hist),
			StatusCodes: statusMap(s.statuses, 0),
		})
	}
	return r
}

func reportConfig(o Options, m model) ReportConfig {
	c := ReportConfig{
		Target:          o.Target,
		Model:           m.name(),
		Workload:        "mix",
		DurationSeconds: o.Duration.Seconds(),
		WarmupSeconds:   o.Warmup.Seconds(),
		TimeoutSeconds:  o.Timeout.Seconds(),
	}
	if m.open {
		c.Rate = o.Rate
	} else {
		c.Users, c.ThinkSeconds = m.users, m.think.Seconds()
	}
	if len(o.Paths) > 0 {
		c.Workload, c.Paths = "paths", o.Paths
	} else {
		c.Mix = map[string]int{}
		for a, w := range o.Mix.weights() {
			c.Mix[action(a).String()] = w
		}
		c.LogIn, c.SessionActions, c.SessionSeconds, c.Seed = o.Email != "", o.SessionActions, o.SessionTime.Seconds(), o.Seed
	}
	return c
}

func latencyOf(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{
		P50:  h.ValueAtQuantile(50),
		P90:  h.ValueAtQuantile(90),
		P95:  h.ValueAtQuantile(95),
		P99:  h.ValueAtQuantile(99),
		P999: h.ValueAtQuantile(99.9),
		Max:  h.Max(),
		Mean: h.Mean(),
	}
}

// statusMap keys statuses >= from by their decimal code, as JSON needs.
func statusMap(statuses map[int]int64, from int) map[string]int64 {
	out := map[string]int64{}
	for code, n := range statuses {
		if code >= from {
			out[strconv.Itoa(code)] = n
		}
	}
	return out
}

// WriteJSON writes the report as one JSON object and a newline.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for a person to read.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	r.writeSettings(&b)
	r.writeResults(&b)
	r.writeFaults(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeSettings writes what was run, by whom and how.
func (r *Report) writeSettings(b *strings.Builder) {
	c := r.Config
	switch {
	case c.Model == "open":
		fmt.Fprintf(b, "vitrine bench: open model, %g requests/s on a fixed schedule", c.Rate)
	case c.Workload == "paths":
		fmt.Fprintf(b, "vitrine bench: closed model, %d workers back to back", c.Users)
	default:
		fmt.Fprintf(b, "vitrine bench: closed model, %d users thinking %s on average", c.Users, seconds(c.ThinkSeconds))
	}
	if c.Workload == "paths" {
		fmt.Fprintf(b, ", paths %s\n", strings.Join(c.Paths, " "))
	} else {
		fmt.Fprintf(b, ", mix %s\n", mixText(c.Mix))
		who := "anonymous"
		if c.LogIn {
			who = "logging in once"
		}
		fmt.Fprintf(b, "  sessions of %d actions", c.SessionActions)
		if c.SessionSeconds > 0 {
			fmt.Fprintf(b, " or %s", seconds(c.SessionSeconds))
		}
		fmt.Fprintf(b, ", %s; search queries from seed %d\n", who, c.Seed)
	}
	fmt.Fprintf(b, "  target %s, %s measured after %s warm-up, timeout %s\n",
		c.Target, seconds(c.DurationSeconds), seconds(c.WarmupSeconds), seconds(c.TimeoutSeconds))
	fmt.Fprintf(b, "  client: %d workers, %d connections per host", r.Client.Workers, r.Client.Conns)
	if r.Client.SourceAddrs > 0 {
		fmt.Fprintf(b, " from %d source addresses (%d used)", r.Client.SourceAddrs, r.Client.SourceAddrsUsed)
	}
	if r.Client.PeakOpenFDs >= 0 {
		fmt.Fprintf(b, ", open files peak %d", r.Client.PeakOpenFDs)
		if r.Client.FDLimit > 0 {
			fmt.Fprintf(b, " of limit %d", r.Client.FDLimit)
		}
	}
	b.WriteString("\n")
	for _, n := range r.Notes {
		fmt.Fprintf(b, "  note: %s\n", n)
	}
	if r.Stopped == "cancelled" {
		b.WriteString("  note: stopped early (cancelled)\n")
	}
}

// writeResults writes throughput and latencies, per action and overall.
func (r *Report) writeResults(b *strings.Builder) {
	errPct := 0.0
	if r.Requests > 0 {
		errPct = 100 * float64(r.Errors) / float64(r.Requests)
	}
	fmt.Fprintf(b, "\n%d requests in %s: %.1f requests/s, %d errors (%.2f%%)\n\n",
		r.Requests, seconds(r.ElapsedSeconds), r.Throughput, r.Errors, errPct)

	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "action\trequests\treq/s\tp50\tp90\tp95\tp99\tp99.9\tmax\terrors\t")
	row := func(name string, n, errs int64, rps float64, l Latency) {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", name, n, rps,
			micros(l.P50), micros(l.P90), micros(l.P95), micros(l.P99), micros(l.P999), micros(l.Max), errs)
	}
	for _, a := range r.Actions {
		row(a.Name, a.Requests, a.Errors, a.Throughput, a.Latency)
	}
	row("overall", r.Requests, r.Errors, r.Throughput, r.Latency)
	tw.Flush()

	if ss := r.Sessions; ss.Started > 0 || ss.Logins > 0 {
		fmt.Fprintf(b, "\nsessions: %d started, %d logins (%.2f per session), %d token refreshes", ss.Started, ss.Logins, ss.LoginsPerSession, ss.Refreshes)
		for _, a := range r.Actions {
			if a.Name == actLogin.String() && a.Latency.P50 > 0 {
				fmt.Fprintf(b, "; a login takes p50 %s, p99 %s", micros(a.Latency.P50), micros(a.Latency.P99))
			}
		}
		b.WriteString("\n")
	}
	if f := r.Freshness; f != nil {
		fmt.Fprintf(b, "\nwrites: %d to product %s, every %s (%d failed); its reads: %d, of which %d stale (sent after a newer version was acknowledged), %d more than 1 s after it",
			f.Writes, f.Product, time.Duration(f.EverySeconds*float64(time.Second)), f.WriteErrors, f.Reads, f.StaleReads, f.StaleOver1s)
		if f.StaleReads > 0 {
			fmt.Fprintf(b, "; staleness p99 %s, max %s", micros(f.StaleP99Us), micros(f.StaleMaxUs))
		}
		if f.Unparsed > 0 {
			fmt.Fprintf(b, "; %d answers had no product ETag", f.Unparsed)
		}
		b.WriteString("\n")
	}
}

// writeFaults writes errors, requests cut off and requests never sent.
func (r *Report) writeFaults(b *strings.Builder) {
	if len(r.ErrorsByStatus) > 0 {
		fmt.Fprintf(b, "\nerrors by status: %s\n", countsText(r.ErrorsByStatus))
	}
	if len(r.TransportErrors) > 0 {
		fmt.Fprintf(b, "transport errors: %s\n", countsText(r.TransportErrors))
		for _, kind := range slices.Sorted(maps.Keys(r.TransportErrorSamples)) {
			fmt.Fprintf(b, "  %s: %s\n", kind, r.TransportErrorSamples[kind])
		}
	}
	if r.Unfinished > 0 {
		fmt.Fprintf(b, "unfinished: %d requests still in flight when the run was cut off\n", r.Unfinished)
	}
	if r.MissedSlots > 0 {
		if r.Config.Rate > 0 {
			fmt.Fprintf(b, "missed: %d scheduled requests were never sent (every worker was waiting on the server; raise --concurrency)\n", r.MissedSlots)
		} else {
			fmt.Fprintf(b, "missed: %d shoppers were due but never sent their request: the target could not keep up\n", r.MissedSlots)
		}
	}
}

func mixText(mix map[string]int) string {
	var parts []string
	for _, name := range actionNames[:numMixActions] {
		parts = append(parts, fmt.Sprintf("%s=%d", name, mix[name]))
	}
	return strings.Join(parts, ",")
}

func countsText(m map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}

func micros(us int64) string { return formatLatency(time.Duration(us) * time.Microsecond) }

// formatLatency shows three significant digits, as the histogram keeps.
func formatLatency(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'g', 3, 64) + "ms"
	default:
		return strconv.FormatFloat(d.Seconds(), 'g', 3, 64) + "s"
	}
}
