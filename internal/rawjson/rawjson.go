// Package rawjson keeps the exact bytes of a provider's JSON records while
// decoding them, for the raw payloads banklink serves as
// serviceProviderDetails: the record as the provider sent it (spacing,
// key order and fields banklink does not map), not a re-encoding.
package rawjson

import (
	"bytes"
	"encoding/json"
)

// Keep decodes b into v and returns a copy of b (the decoder's buffer is
// not the caller's to keep); nil for null. Call it from a record type's
// UnmarshalJSON with v a pointer to a method-less copy of the type:
//
//	func (a *account) UnmarshalJSON(b []byte) (err error) {
//		type fields account
//		a.raw, err = rawjson.Keep(b, (*fields)(a))
//		return err
//	}
func Keep(b []byte, v any) (json.RawMessage, error) {
	if string(b) == "null" {
		return nil, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return nil, err
	}
	return bytes.Clone(b), nil
}
