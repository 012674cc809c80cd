package httpx

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Middleware wraps a handler.
type Middleware func(http.Handler) http.Handler

// Chain applies middleware so that the first one listed is the outermost.
func Chain(h http.Handler, mw ...Middleware) http.Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// Recover turns a panic in a handler into a logged 500 problem.
func Recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				WriteError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// SecurityHeaders sets the headers every API response should carry.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = headerNosniff
		h["X-Frame-Options"] = headerDeny
		h["Referrer-Policy"] = headerNoReferrer
		h["Content-Security-Policy"] = headerCSP
		next.ServeHTTP(w, r)
	})
}

// StatusRecorder remembers the status a handler wrote.
type StatusRecorder struct {
	http.ResponseWriter
	Status int
	Bytes  int
}

func (s *StatusRecorder) WriteHeader(code int) {
	if s.Status == 0 {
		s.Status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *StatusRecorder) Write(b []byte) (int, error) {
	if s.Status == 0 {
		s.Status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.Bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *StatusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Observer receives one call per finished request; metrics and tests use it.
type Observer func(r *http.Request, status int, elapsed time.Duration)

// recorders recycles the StatusRecorders of Log: a handler must not use
// its ResponseWriter once ServeHTTP has returned, so neither does anyone
// after Log has.
var recorders = sync.Pool{New: func() any { return new(StatusRecorder) }}

// Log logs every request at debug level and server errors at error level,
// then hands the outcome to each observer. When the logger is not enabled
// at debug level (the logger decides once per request, cheaply), a request
// that went well costs no log record at all.
func Log(logger *slog.Logger, observers ...Observer) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := recorders.Get().(*StatusRecorder)
			*rec = StatusRecorder{ResponseWriter: w}
			defer func() {
				*rec = StatusRecorder{}
				recorders.Put(rec)
			}()
			next.ServeHTTP(rec, r)
			status := rec.Status
			if status == 0 {
				status = http.StatusOK
			}
			elapsed := time.Since(start)
			level := slog.LevelDebug
			if status >= 500 {
				level = slog.LevelError
			}
			if logger.Enabled(r.Context(), level) {
				logger.LogAttrs(r.Context(), level, "request",
					slog.String("method", r.Method), slog.String("path", r.URL.Path),
					slog.String("route", Route(r)), slog.Int("status", status),
					slog.String("duration", elapsed.String()), slog.String("request_id", RequestID(r.Context())))
			}
			for _, o := range observers {
				o(r, status, elapsed)
			}
		})
	}
}

// RetryAfter formats a duration as whole seconds for a Retry-After header.
func RetryAfter(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s)
}
