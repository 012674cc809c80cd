package errs

import (
	"sync"
	"time"
)

// A Classifier recognises errors of a dependency that are not *Error (a
// database that refuses writes, say) and tells what they mean to a client.
type Classifier func(error) (*Error, bool)

var (
	classifiersMu sync.RWMutex
	classifiers   []Classifier
)

// RegisterClassifier adds c to the classifiers Classify consults. Packages
// that wrap a dependency register theirs from init.
func RegisterClassifier(c Classifier) {
	classifiersMu.Lock()
	defer classifiersMu.Unlock()
	classifiers = append(classifiers, c)
}

// Classify returns the client-facing error for err when a registered
// classifier recognises it.
func Classify(err error) (*Error, bool) {
	classifiersMu.RLock()
	defer classifiersMu.RUnlock()
	for _, c := range classifiers {
		if e, ok := c(err); ok {
			return e, true
		}
	}
	return nil, false
}

// Unavailable is a dependency that is down for now: a 503 with Retry-After.
func Unavailable(err error, msg string, retryAfter time.Duration) *Error {
	return &Error{Kind: KindUnavailable, Msg: msg, Err: err, RetryAfter: retryAfter}
}
