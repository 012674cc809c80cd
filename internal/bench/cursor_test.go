package bench

import (
	"encoding/json"
	"testing"
)

func TestNextCursor(t *testing.T) {
	for _, tc := range []struct {
		page, want string
		fails      bool
	}{
		{`{"items":[],"next_cursor":"abc.def"}`, "abc.def", false},
		{`{"items":[{"name":"say \"next_cursor\":\"x\""}],"next_cursor":"c1"}` + "\n", "c1", false},
		{`{"items":[{"id":"1"}]}`, "", false},
		{`{"items":[],"next_cursor":null}`, "", false},
		{`{"items":[],"next_cursor": "spaced\u002b"}`, "spaced+", false},
		{`{"items":[],"next_cursor":"c\"q"}`, `c"q`, false},
		{`not json`, "", true},
		{`{"items":[],"next_cursor":42}`, "", true},
	} {
		got, err := nextCursor([]byte(tc.page))
		if (err != nil) != tc.fails || got != tc.want {
			t.Errorf("nextCursor(%s) = %q, %v; want %q, failure %v", tc.page, got, err, tc.want, tc.fails)
		}
	}
}

// The cursor read without decoding is the one a full decode finds.
func TestNextCursorMatchesDecode(t *testing.T) {
	page, err := json.Marshal(map[string]any{
		"items":       []map[string]string{{"description": `tricky "next_cursor":"nope" text`}},
		"next_cursor": "real/cursor+=",
	})
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		NextCursor string `json:"next_cursor"`
	}
	if err := json.Unmarshal(page, &want); err != nil {
		t.Fatal(err)
	}
	if got, err := nextCursor(page); err != nil || got != want.NextCursor {
		t.Fatalf("nextCursor = %q, %v; want %q", got, err, want.NextCursor)
	}
}
