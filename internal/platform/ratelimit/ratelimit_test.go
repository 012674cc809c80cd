package ratelimit

import (
	"flag"
	"strings"
	"testing"
	"time"
)

func TestParseLimit(t *testing.T) {
	good := []struct {
		in   string
		want Limit
		text string // String() of the result
	}{
		{"100/s", Limit{100, time.Second, 100}, "100/s"},
		{"100/s:200", Limit{100, time.Second, 200}, "100/s:200"},
		{"6000/m", Limit{6000, time.Minute, 6000}, "6000/m"},
		{"5/m:5", Limit{5, time.Minute, 5}, "5/m"},
		{"1000/h", Limit{1000, time.Hour, 1000}, "1000/h"},
		{"50/10s", Limit{50, 10 * time.Second, 50}, "50/10s"},
		{"3/1m30s:1", Limit{3, 90 * time.Second, 1}, "3/1m30s:1"},
		{" 7/s ", Limit{7, time.Second, 7}, "7/s"},
		{"off", Limit{}, "off"},
	}
	for _, tc := range good {
		got, err := ParseLimit(tc.in)
		if err != nil {
			t.Errorf("ParseLimit(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseLimit(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		if s := got.String(); s != tc.text {
			t.Errorf("ParseLimit(%q).String() = %q, want %q", tc.in, s, tc.text)
		}
	}

	bad := []string{
		"", "100", "100/", "/s", "0/s", "-1/s", "x/s", "100/d", "100/sec", "100/-1s", "100/0s",
		"100/s:", "100/s:0", "100/s:-5", "100/s:x", "100/s:1:2", "2000000000/ns", "1/s:9223372036854775807",
		"1.5/s", "OFF",
	}
	for _, in := range bad {
		if l, err := ParseLimit(in); err == nil {
			t.Errorf("ParseLimit(%q) = %+v, want an error", in, l)
		}
	}
}

func TestLimitAsFlag(t *testing.T) {
	fs := flag.NewFlagSet("vitrine", flag.ContinueOnError)
	l := DefaultConfig().PerIP
	fs.TextVar(&l, "rate-limit-ip", l, "per-IP limit")
	if err := fs.Parse([]string{"-rate-limit-ip=20/s:40"}); err != nil {
		t.Fatal(err)
	}
	if want := (Limit{20, time.Second, 40}); l != want {
		t.Fatalf("flag gave %+v, want %+v", l, want)
	}
	fs.SetOutput(new(strings.Builder))
	if err := fs.Parse([]string{"-rate-limit-ip=fast"}); err == nil {
		t.Fatal("a bad limit flag was accepted")
	}
}

func TestLimitValidate(t *testing.T) {
	for _, l := range []Limit{{}, {Rate: 1, Period: time.Second}, {Rate: 5, Period: time.Minute, Burst: 1}} {
		if err := l.Validate(); err != nil {
			t.Errorf("%+v: %v", l, err)
		}
	}
	for _, l := range []Limit{{Rate: 1}, {Period: time.Second}, {Rate: -1, Period: time.Second}, {Rate: 10, Period: 5}} {
		if err := l.Validate(); err == nil {
			t.Errorf("%+v validated", l)
		}
	}
}

func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"100/s", "100/s:200", "5/m", "50/10s", "off", "1/1ns", "9/h:9999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLimit(s)
		if err != nil {
			return
		}
		if err := l.Validate(); err != nil {
			t.Fatalf("ParseLimit(%q) = %+v, which does not validate: %v", s, l, err)
		}
		again, err := ParseLimit(l.String())
		if err != nil || again != l {
			t.Fatalf("ParseLimit(%q) = %+v; its String %q reads back as %+v, %v", s, l, l.String(), again, err)
		}
	})
}
