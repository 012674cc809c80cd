package product

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// Cursor is the position after the last product of a page: the sort key and
// id of that product. On the wire it is opaque: base64url JSON and an
// HMAC-SHA256 of it under a secret of the service, so a client can neither
// forge one nor move one to other rows; the scope binds it to the sort and
// filters it was issued for, so one taken from another listing is refused
// rather than paging through the wrong rows.
type Cursor struct {
	Sort  string `json:"s"`
	Key   string `json:"k"` // the sort column's value, as text
	ID    string `json:"i"`
	Scope string `json:"f"` // fingerprint of the filters
}

// CursorFor returns the cursor positioned after p in sort order.
func CursorFor(p *Product, sort, scope string) *Cursor {
	c := &Cursor{Sort: sort, ID: p.ID, Scope: scope}
	order, ok := SortOrderOf(sort)
	if !ok {
		order, _ = SortOrderOf(SortNewest)
	}
	c.Key = order.Key(p)
	return c
}

// CursorSecretLen is the length of the secret that signs cursors: of one
// the store generates, and the least a configured one may have.
const CursorSecretLen = 32

// Encode returns the opaque text form, signed with secret.
func (c *Cursor) Encode(secret []byte) string {
	body, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(body) + "." + base64.RawURLEncoding.EncodeToString(cursorMAC(secret, body))
}

func cursorMAC(secret, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("vitrine cursor v1\n")) // the secret may serve other ends one day
	mac.Write(body)
	return mac.Sum(nil)
}

// IntKey returns the sort key of a numeric sort.
func (c *Cursor) IntKey() int64 {
	n, _ := strconv.ParseInt(c.Key, 10, 64)
	return n
}

const maxCursorLen = 1024

// DecodeCursor checks that s was signed with secret, then parses it and
// checks that it belongs to a listing with the given sort and filter scope.
func DecodeCursor(s, sort, scope string, secret []byte) (*Cursor, error) {
	bad := &errs.Error{Kind: errs.KindInvalid, Msg: "the cursor is not valid for this listing",
		Fields: []errs.FieldError{{Field: "cursor", Detail: "malformed, tampered with, or issued for another listing"}}}
	if len(s) > maxCursorLen {
		return nil, bad
	}
	bodyText, sumText, ok := strings.Cut(s, ".")
	if !ok {
		return nil, bad
	}
	body, err1 := base64.RawURLEncoding.DecodeString(bodyText)
	sum, err2 := base64.RawURLEncoding.DecodeString(sumText)
	if err1 != nil || err2 != nil {
		return nil, bad
	}
	if !hmac.Equal(sum, cursorMAC(secret, body)) {
		return nil, bad
	}
	var c Cursor
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, bad
	}
	if c.Sort != sort || c.Scope != scope {
		return nil, bad
	}
	if _, err := uuid.Parse(c.ID); err != nil {
		return nil, bad
	}
	if order, _ := SortOrderOf(sort); !order.Text {
		if _, err := strconv.ParseInt(c.Key, 10, 64); err != nil {
			return nil, bad
		}
	}
	return &c, nil
}

// Scope fingerprints the filters of q, so a cursor only continues the
// listing it came from.
func (q *ListQuery) Scope() string {
	h := sha256.New()
	write := func(parts ...string) {
		for _, p := range parts {
			h.Write([]byte(p))
			h.Write([]byte{0})
		}
		h.Write([]byte{1})
	}
	write(q.Category)
	write(q.Brands...)
	write(optInt(q.MinPrice), optInt(q.MaxPrice), strconv.FormatBool(q.InStock))
	write(q.Statuses...)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:6])
}

func optInt(p *int64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatInt(*p, 10)
}
