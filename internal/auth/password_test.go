package auth

import (
	"regexp"
	"strings"
	"testing"
)

var cheap = Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1}

func TestPasswordHashIsPHC(t *testing.T) {
	h, err := hashPassword("correct horse", DefaultArgon2)
	if err != nil {
		t.Fatal(err)
	}
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(h) {
		t.Fatalf("%q is not an argon2id PHC string", h)
	}
	if ok, err := verifyPassword("correct horse", h); err != nil || !ok {
		t.Fatalf("verify the right password: %v, %v", ok, err)
	}
	if ok, err := verifyPassword("correct horsE", h); err != nil || ok {
		t.Fatalf("verify a wrong password: %v, %v", ok, err)
	}
}

func TestPasswordHashesAreSalted(t *testing.T) {
	a, _ := hashPassword("same", cheap)
	b, _ := hashPassword("same", cheap)
	if a == b {
		t.Fatal("two hashes of one password are equal")
	}
}

func TestVerifyUsesTheStoredParameters(t *testing.T) {
	// A hash made with other parameters still verifies after a change.
	h, _ := hashPassword("pw-12345", Argon2Params{Memory: 128, Iterations: 2, Parallelism: 2})
	if ok, err := verifyPassword("pw-12345", h); err != nil || !ok {
		t.Fatalf("got %v, %v", ok, err)
	}
}

func TestVerifyRejectsMalformedHashes(t *testing.T) {
	good, _ := hashPassword("pw", cheap)
	parts := strings.Split(good, "$")
	for _, h := range []string{
		"",
		"plain",
		strings.Replace(good, "argon2id", "argon2i", 1),
		strings.Replace(good, "v=19", "v=16", 1),
		strings.Replace(good, "m=64", "m=99999999", 1), // would allocate ~100 GB
		strings.Replace(good, "p=1", "p=0", 1),
		strings.Join(append(parts[:4:4], "!!", parts[5]), "$"),
		strings.Join(parts[:5], "$"),
	} {
		if ok, err := verifyPassword("pw", h); err == nil || ok {
			t.Errorf("%q: got %v, %v; want an error", h, ok, err)
		}
	}
}

// BenchmarkVerifyPassword is the CPU a login spends on the password: one
// argon2id verification at DefaultArgon2, once per session.
//
//	go test ./internal/auth -run '^$' -bench VerifyPassword -benchtime 20x
func BenchmarkVerifyPassword(b *testing.B) {
	encoded, err := hashPassword("correct horse battery staple", DefaultArgon2)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := verifyPassword("correct horse battery staple", encoded); !ok || err != nil {
			b.Fatalf("verify: %v %v", ok, err)
		}
	}
}
