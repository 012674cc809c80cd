package httpx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Shed answers 503 with Retry-After at once when more than limit requests
// are in flight, instead of queueing without bound. limit <= 0 disables it.
func Shed(limit int) Middleware {
	return func(next http.Handler) http.Handler {
		if limit <= 0 {
			return next
		}
		slots := make(chan struct{}, limit)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
				next.ServeHTTP(w, r)
			default:
				w.Header().Set("Retry-After", "1")
				WriteProblem(w, r, Problem{Status: http.StatusServiceUnavailable, Detail: "the server is at capacity; retry shortly"})
			}
		})
	}
}

// LimitPerClient answers 429 with Retry-After when one client (its
// address, IPv6 by /64, see ClientKey) already has limit requests in
// flight. Shed bounds the server as a whole; this bounds each client's
// share of it, so a few clients holding requests open (slow bodies, slow
// reads) cannot take every slot. limit <= 0 disables it. It needs Edge
// before it; a request whose client is unknown (a Unix socket) passes.
func LimitPerClient(limit int) Middleware {
	return func(next http.Handler) http.Handler {
		if limit <= 0 {
			return next
		}
		var (
			mu       sync.Mutex
			inFlight = map[string]int{} // only clients with a request in flight: bounded by the server's concurrency
		)
		release := func(key string) {
			mu.Lock()
			if inFlight[key]--; inFlight[key] <= 0 {
				delete(inFlight, key)
			}
			mu.Unlock()
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key, ok := ClientKeyOf(r.Context())
			if !ok {
				next.ServeHTTP(w, r)
				return
			}
			mu.Lock()
			if inFlight[key] >= limit {
				mu.Unlock()
				w.Header().Set("Retry-After", "1")
				WriteProblem(w, r, Problem{Status: http.StatusTooManyRequests,
					Detail: "too many requests from your address at once; wait for one to finish"})
				return
			}
			inFlight[key]++
			mu.Unlock()
			defer release(key)
			next.ServeHTTP(w, r)
		})
	}
}

// BufferBody reads a request's body in full, up to MaxBodyBytes, before
// the rest of the chain sees the request, and gives that read a deadline
// of its own (timeout from the first byte asked; <= 0 leaves only the
// server's ReadTimeout). A client that sends its body slowly then waits
// here, outside the server's in-flight slots (Shed, after this), and is
// answered 408, with the connection closed, when its body has not arrived
// in time: trickling bytes does not extend the deadline.
//
// Handlers read the buffered copy and keep their own limits: a body larger
// than MaxBodyBytes is passed on cut at MaxBodyBytes+1 bytes, enough for
// their MaxBytesReader to answer 413, and its connection is not reused.
//
// Requests for which streamed returns true (large uploads, refused unless
// the caller may make them) are passed on unread: their handler checks
// the caller first, then reads the body under its own limit and the
// server's ReadTimeout. streamed may be nil.
func BufferBody(timeout time.Duration, streamed func(*http.Request) bool) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body == nil || r.Body == http.NoBody || (streamed != nil && streamed(r)) {
				next.ServeHTTP(w, r)
				return
			}
			rc := http.NewResponseController(w)
			deadline := timeout > 0 && rc.SetReadDeadline(time.Now().Add(timeout)) == nil
			var buf bytes.Buffer
			if n := r.ContentLength; n > 0 && n <= MaxBodyBytes {
				buf.Grow(int(n))
			}
			_, err := buf.ReadFrom(io.LimitReader(r.Body, MaxBodyBytes+1))
			if err != nil {
				// Whatever is left of the body must not be read as the next request.
				w.Header().Set("Connection", "close")
				if isTimeout(err) {
					WriteProblem(w, r, Problem{Status: http.StatusRequestTimeout,
						Detail: "the request body did not arrive in time"})
					return
				}
				WriteProblem(w, r, Problem{Status: http.StatusBadRequest, Detail: "the request body could not be read"})
				return
			}
			if buf.Len() > MaxBodyBytes {
				// The rest is never read: close rather than drain it.
				w.Header().Set("Connection", "close")
			} else if deadline {
				// The body is in. A deadline left in place would cut the
				// connection (and cancel the request) while the handler works.
				_ = rc.SetReadDeadline(time.Time{})
			}
			r = r.WithContext(r.Context())
			r.Body = io.NopCloser(&buf)
			next.ServeHTTP(w, r)
		})
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// Deadline gives each request's context a deadline d away, so that a
// dependency that stops answering (a frozen database, its zone cut off)
// fails the request, as a 503 for a database that cannot answer, instead
// of holding it and its slot for as long as the client waits. d <= 0
// disables it.
func Deadline(d time.Duration) Middleware {
	return func(next http.Handler) http.Handler {
		if d <= 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}
