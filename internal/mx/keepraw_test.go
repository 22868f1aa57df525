package mx

import (
	"encoding/json"
	"testing"
)

// TestRecordsKeepTheirBytes: a decoded record keeps its element's bytes
// as they came (spacing, key order, unknown fields), not a re-encoding;
// a null element keeps none.
func TestRecordsKeepTheirBytes(t *testing.T) {
	const first = `{"guid": "ACT-1",  "name":"Checking", "unmapped": {"b": 2, "a": 1}}`
	for _, tc := range []struct {
		name string
		list string
		want []string
	}{
		{"as sent", `[` + first + `, {"guid":"ACT-2"}]`, []string{first, `{"guid":"ACT-2"}`}},
		{"null keeps none", `[null]`, []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var accts []account
			if err := json.Unmarshal([]byte(tc.list), &accts); err != nil {
				t.Fatal(err)
			}
			if len(accts) != len(tc.want) {
				t.Fatalf("%d accounts", len(accts))
			}
			for i, a := range accts {
				if string(a.raw) != tc.want[i] {
					t.Errorf("raw %d = %s, want %s", i, a.raw, tc.want[i])
				}
			}
			if tc.want[0] != "" && accts[0].GUID != "ACT-1" {
				t.Errorf("guid = %q", accts[0].GUID)
			}
		})
	}
}
