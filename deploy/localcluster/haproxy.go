package localcluster

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// HAProxyAPI is a client of HAProxy's runtime API ("stats socket" at admin
// level): one command per connection, as HAProxy closes it after the
// answer in its non-interactive mode.
type HAProxyAPI struct {
	Addr    string
	Timeout time.Duration // of one command; 5 s when zero
}

// Command sends one command and returns HAProxy's answer.
func (h HAProxyAPI) Command(ctx context.Context, command string) (string, error) {
	limit := h.Timeout
	if limit == 0 {
		limit = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", h.Addr)
	if err != nil {
		return "", fmt.Errorf("HAProxy's runtime API: %w", err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	if _, err := io.WriteString(conn, command+"\n"); err != nil {
		return "", fmt.Errorf("HAProxy's runtime API, %q: %w", command, err)
	}
	answer, err := io.ReadAll(conn)
	if err != nil {
		return "", fmt.Errorf("HAProxy's runtime API, %q: %w", command, err)
	}
	return strings.TrimSpace(string(answer)), nil
}

// silent sends a command whose success is an empty answer; anything else
// is HAProxy's reason for refusing it ("No such server.").
func (h HAProxyAPI) silent(ctx context.Context, command string) error {
	answer, err := h.Command(ctx, command)
	if err == nil && answer != "" {
		err = fmt.Errorf("HAProxy refused %q: %s", command, answer)
	}
	return err
}

// SetServerAddr points a server slot at an address.
func (h HAProxyAPI) SetServerAddr(ctx context.Context, backend, server, host string, port int) error {
	command := fmt.Sprintf("set server %s/%s addr %s port %d", backend, server, host, port)
	answer, err := h.Command(ctx, command)
	if err != nil {
		return err
	}
	// HAProxy says what it changed, or that nothing needed to.
	if !strings.Contains(answer, "changed") && !strings.Contains(answer, "no need to change") {
		return fmt.Errorf("HAProxy refused %q: %s", command, answer)
	}
	return nil
}

// A ServerState is what HAProxy may do with a server: send it requests
// (ready), finish those it has but send no new ones (drain), or leave it
// out (maint).
type ServerState string

// The administrative states of a server.
const (
	StateReady ServerState = "ready"
	StateDrain ServerState = "drain"
	StateMaint ServerState = "maint"
)

// SetServerState sets a server's administrative state.
func (h HAProxyAPI) SetServerState(ctx context.Context, backend, server string, state ServerState) error {
	return h.silent(ctx, fmt.Sprintf("set server %s/%s state %s", backend, server, state))
}

// SetMaxConn sets the number of requests a server serves at once.
func (h HAProxyAPI) SetMaxConn(ctx context.Context, backend, server string, n int) error {
	return h.silent(ctx, fmt.Sprintf("set maxconn server %s/%s %d", backend, server, n))
}

// A StatRow is one line of "show stat": a frontend, a backend or a server.
type StatRow struct {
	Proxy   string // pxname: the frontend or backend
	Server  string // svname: a server, or FRONTEND or BACKEND
	Status  string // UP, DOWN, DRAIN, MAINT, "UP 1/2" while a check changes it…
	Current int    // scur: requests (sessions) in flight
	Queued  int    // qcur: requests waiting for a slot
	Fields  map[string]string
}

// Stats reads "show stat".
func (h HAProxyAPI) Stats(ctx context.Context) ([]StatRow, error) {
	answer, err := h.Command(ctx, "show stat")
	if err != nil {
		return nil, err
	}
	return ParseStats(answer)
}

// Server is the stat row of one server.
func (h HAProxyAPI) Server(ctx context.Context, backend, server string) (StatRow, error) {
	rows, err := h.Stats(ctx)
	if err != nil {
		return StatRow{}, err
	}
	for _, r := range rows {
		if r.Proxy == backend && r.Server == server {
			return r, nil
		}
	}
	return StatRow{}, fmt.Errorf("HAProxy has no server %s/%s", backend, server)
}

// ParseStats reads the CSV of "show stat", whose header line starts with
// "# " and whose lines end with a comma.
func ParseStats(text string) ([]StatRow, error) {
	text, ok := strings.CutPrefix(strings.TrimSpace(text), "# ")
	if !ok {
		return nil, fmt.Errorf("show stat: no header line in %.80q", text)
	}
	r := csv.NewReader(strings.NewReader(text))
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("show stat: %w", err)
	}
	var rows []StatRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("show stat: %w", err)
		}
		fields := make(map[string]string, len(header))
		for i, name := range header {
			if name != "" {
				fields[name] = rec[i]
			}
		}
		row := StatRow{Proxy: fields["pxname"], Server: fields["svname"], Status: fields["status"], Fields: fields}
		row.Current, _ = strconv.Atoi(fields["scur"])
		row.Queued, _ = strconv.Atoi(fields["qcur"])
		rows = append(rows, row)
	}
}
