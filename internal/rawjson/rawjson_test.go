package rawjson_test

import (
	"encoding/json"
	"testing"

	"banklink/internal/rawjson"
)

type record struct {
	ID  string `json:"id"`
	raw json.RawMessage
}

func (r *record) UnmarshalJSON(b []byte) (err error) {
	type fields record
	r.raw, err = rawjson.Keep(b, (*fields)(r))
	return err
}

func TestKeep(t *testing.T) {
	const first = `{"id": "r-1",  "name":"Checking", "unmapped": {"b": 2, "a": 1}}`
	for _, tc := range []struct {
		name, list string
		raw, ids   []string
		err        bool
	}{
		{name: "as sent", list: `[` + first + `, {"id":"r-2"}]`, raw: []string{first, `{"id":"r-2"}`}, ids: []string{"r-1", "r-2"}},
		{name: "null keeps none", list: `[null]`, raw: []string{""}, ids: []string{""}},
		{name: "a field of the wrong type fails", list: `[{"id": 7}]`, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var list []record
			err := json.Unmarshal([]byte(tc.list), &list)
			if tc.err {
				if err == nil {
					t.Fatal("decoded")
				}
				return
			}
			if err != nil || len(list) != len(tc.raw) {
				t.Fatalf("%d records, %v", len(list), err)
			}
			for i, r := range list {
				if string(r.raw) != tc.raw[i] || r.ID != tc.ids[i] {
					t.Errorf("record %d = %q %s, want %q %s", i, r.ID, r.raw, tc.ids[i], tc.raw[i])
				}
			}
		})
	}
}

// TestKeepCopies: the kept bytes are not the decoder's buffer.
func TestKeepCopies(t *testing.T) {
	b := []byte(`{"id":"x"}`)
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	b[7] = 'y'
	if string(r.raw) != `{"id":"x"}` {
		t.Errorf("raw changed with the input: %s", r.raw)
	}
}
