package localcluster

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
)

// testdata/show-stat.csv is "show stat" of HAProxy 2.6 running
// deploy/haproxy/haproxy.cfg, with product-1 up, product-2 draining and
// auth-1 down (nothing listening on its address).
func TestParseStatsReadsHAProxysOwnOutput(t *testing.T) {
	b, err := os.ReadFile("testdata/show-stat.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ParseStats(string(b))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]StatRow{}
	for _, r := range rows {
		got[r.Proxy+"/"+r.Server] = r
	}
	for server, status := range map[string]string{
		"product/product-1": "UP", "product/product-2": "DRAIN", "product/product-3": "MAINT",
		"auth/auth-1": "DOWN", "public/FRONTEND": "OPEN", "search/search-8": "MAINT",
	} {
		if got[server].Status != status {
			t.Errorf("%s: status %q, want %q", server, got[server].Status, status)
		}
	}
	// Four backends of eight slots and a BACKEND line each, the frontend,
	// and the stats page's frontend and backend.
	if len(rows) != 4*9+3 {
		t.Errorf("%d rows", len(rows))
	}
	if p1 := got["product/product-1"]; p1.Fields["addr"] != "127.0.0.1:38101" || p1.Fields["check_status"] == "" || p1.Current != 0 {
		t.Errorf("product-1: %+v", p1)
	}
}

func TestParseStatsRefusesWhatIsNotStatCSV(t *testing.T) {
	for _, text := range []string{"", "Unknown command.", "# pxname,svname\nproduct,\"unterminated\n"} {
		if _, err := ParseStats(text); err == nil {
			t.Errorf("%q: no error", text)
		}
	}
}

// fakeRuntimeAPI answers each connection's one command with answer.
func fakeRuntimeAPI(t *testing.T, answer func(command string) string) HAProxyAPI {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 512)
			n, _ := conn.Read(buf)
			_, _ = conn.Write([]byte(answer(strings.TrimSpace(string(buf[:n]))) + "\n"))
			conn.Close()
		}
	}()
	return HAProxyAPI{Addr: ln.Addr().String()}
}

func TestRuntimeAPIErrorsCarryHAProxysAnswer(t *testing.T) {
	api := fakeRuntimeAPI(t, func(command string) string {
		switch command {
		case "set server product/product-3 state ready":
			return ""
		case "set server product/product-3 addr 127.0.0.1 port 18103":
			return "no need to change the addr, port changed from '1' to '18103' by 'stats socket command'"
		}
		return "No such server."
	})
	ctx := context.Background()
	if err := api.SetServerState(ctx, "product", "product-3", StateReady); err != nil {
		t.Error(err)
	}
	if err := api.SetServerAddr(ctx, "product", "product-3", "127.0.0.1", 18103); err != nil {
		t.Error(err)
	}
	err := api.SetServerState(ctx, "product", "product-9", StateDrain)
	if err == nil || !strings.Contains(err.Error(), "No such server.") {
		t.Errorf("a refused command: %v", err)
	}
	if err := api.SetServerAddr(ctx, "product", "product-9", "127.0.0.1", 1); err == nil {
		t.Error("a refused addr: no error")
	}
}
