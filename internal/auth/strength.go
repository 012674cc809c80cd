package auth

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
)

// Length rules alone let "password1" and "ada@example.com" through. As NIST
// SP 800-63B (5.1.1.2) asks, a new password is also checked against lists
// of common passwords and against what the attacker already knows: the
// account's e-mail address and the name of the site. zxcvbn (Dropbox's
// estimator, ported to Go by Trustelem, MIT licence) carries the lists: the
// 30,000 most common passwords of leaked sets, English words, names and
// surnames, and finds them under capitals, l33t, reversal, keyboard walks,
// repeats and dates.

// minGuessScore is the least zxcvbn score a password needs: 2 means about
// 10^6 guesses or more, out of reach of an online attacker held back by
// the login throttle, though not of one holding a stolen hash.
const minGuessScore = 2

// strengthPrefixBytes bounds the part of a password that zxcvbn examines:
// its matchers grow faster than linearly with length, and a password longer
// than this is not weak because of what follows.
const strengthPrefixBytes = 64

// minOwnChars is how many characters a password must keep once the parts
// of the e-mail address are taken out of it.
const minOwnChars = 4

// siteWords are words anyone attacking a Vitrine account would try.
var siteWords = []string{"vitrine"}

// passwordWeakness returns why password is too easy to guess for the
// account of email, or "" when it is not. email is normalised.
func passwordWeakness(password, email string) string {
	parts := emailParts(email)
	if builtFrom(password, parts) {
		return "must not be the e-mail address or be made from it"
	}
	res := zxcvbn.PasswordStrength(prefix(password, strengthPrefixBytes), append(parts, siteWords...))
	if res.Score >= minGuessScore {
		return ""
	}
	for _, m := range res.Sequence {
		if m.DictionaryName == "user_inputs" {
			return "must not be the e-mail address or be made from it"
		}
	}
	if len(res.Sequence) == 1 && res.Sequence[0].DictionaryName == "passwords" {
		return "is one of the most common passwords; a few unrelated words make a strong one"
	}
	return "is too easy to guess (a common word, name, date or keyboard pattern, perhaps with small changes); a few unrelated words make a strong one"
}

// emailParts returns the address, its local part and the words of both,
// longest first, so that the whole address is taken out before its pieces.
func emailParts(email string) []string {
	local, domain, _ := strings.Cut(email, "@")
	parts := []string{email, local, domain}
	split := func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }
	parts = append(parts, strings.FieldsFunc(local, split)...)
	parts = append(parts, strings.FieldsFunc(domain, split)...)
	out := parts[:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// builtFrom reports whether password is little more than the e-mail's
// parts: "ada@example.com", "Ada1234", "example.com!".
func builtFrom(password string, parts []string) bool {
	rest := strings.ToLower(password)
	for _, p := range parts {
		rest = strings.ReplaceAll(rest, p, "")
	}
	own := 0
	for _, r := range rest {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			own++
		}
	}
	return own < minOwnChars && !isOnlyNonWords(password)
}

// isOnlyNonWords reports whether password has no letters or digits at all,
// which the e-mail rule has nothing to say about (zxcvbn judges it).
func isOnlyNonWords(password string) bool {
	return strings.IndexFunc(password, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) < 0
}

// prefix returns at most n bytes of s, cut at a rune boundary.
func prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
