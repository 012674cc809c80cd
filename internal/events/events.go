// Package events is the contract between services: every payload that
// travels on the event stream, with its schema version, its subject, its
// stream, and the functions that encode and decode it. Publishers and
// consumers use these types; no service declares another's shape.
//
// Payloads are JSON. A payload may gain fields (consumers ignore what they
// do not know), never change the meaning of one; a change that cannot be
// read the old way raises the schema version. Messages written before the
// version field existed decode as version 1.
package events

import (
	"encoding/json"
	"errors"
	"fmt"
)

// SchemaVersion is the version of every payload this code writes.
const SchemaVersion = 1

// Operations carried by catalog events.
const (
	OpUpsert = "upsert"
	OpDelete = "delete"
)

// ErrUndecodable wraps every decoding failure: a message that can never be
// read, whatever the consumer does.
var ErrUndecodable = errors.New("undecodable event")

// versioned is what every payload type implements for decode.
type versioned interface {
	schemaVersion() *int
	check() error
}

// decode unmarshals data into v and checks the schema version (absent
// means 1) and the payload's own rules.
func decode(data []byte, v versioned) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %v", ErrUndecodable, err)
	}
	n := v.schemaVersion()
	if *n == 0 {
		*n = 1
	}
	if *n < 1 || *n > SchemaVersion {
		return fmt.Errorf("%w: schema version %d (this build reads 1 to %d)", ErrUndecodable, *n, SchemaVersion)
	}
	if err := v.check(); err != nil {
		return fmt.Errorf("%w: %v", ErrUndecodable, err)
	}
	return nil
}

// encode stamps the current schema version on v and marshals it.
func encode(v versioned) ([]byte, error) {
	*v.schemaVersion() = SchemaVersion
	return json.Marshal(v)
}

func checkOp(op string) error {
	if op != OpUpsert && op != OpDelete {
		return fmt.Errorf("unknown op %q", op)
	}
	return nil
}
