package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters of new password hashes.
// Stored hashes carry their own, so changing these keeps old hashes valid.
type Argon2Params struct {
	Memory      uint32 // KiB
	Iterations  uint32
	Parallelism uint8
}

// DefaultArgon2 is OWASP's minimum recommendation for argon2id (19 MiB, 2
// passes, 1 lane): the 64 MiB of RFC 9106's second choice costs too much
// memory when many logins arrive at once on a small machine.
var DefaultArgon2 = Argon2Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1}

const (
	saltLen = 16
	hashLen = 32
	// Bounds on parameters read back from a stored hash, so a corrupt row
	// cannot make a login allocate gigabytes.
	maxArgon2Memory = 1 << 20 // 1 GiB
	maxArgon2Time   = 64
)

func (p Argon2Params) validate() error {
	if p.Iterations < 1 || p.Iterations > maxArgon2Time || p.Parallelism < 1 ||
		p.Memory < 8*uint32(p.Parallelism) || p.Memory > maxArgon2Memory {
		return fmt.Errorf("auth: invalid argon2 parameters %+v", p)
	}
	return nil
}

// hashPassword returns the PHC string of an argon2id hash of password:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>, base64 without padding.
func hashPassword(password string, p Argon2Params) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	sum := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, hashLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Iterations, p.Parallelism, b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

var errBadHash = errors.New("auth: malformed password hash")

// verifyPassword reports whether password matches the PHC string encoded,
// comparing in constant time.
func verifyPassword(password, encoded string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Iterations, &p.Parallelism); err != nil || p.validate() != nil {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) == 0 {
		return false, errBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 64 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
