package httpx

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"banklink"
)

// CheckJSONText refuses a JSON document (already known to be valid JSON)
// any of whose strings, names included, holds what encoding/json would
// not keep: invalid UTF-8 and unpaired UTF-16 surrogate escapes (\ud800)
// both decode to U+FFFD, so two different inputs became one customer; or
// a NUL (\u0000), which PostgreSQL cannot store. The error names the field
// ("name.firstName", "products[1]").
func CheckJSONText(doc []byte) error {
	// Almost every body is plain UTF-8 without \u escapes: one pass over
	// the bytes settles it without tokenizing.
	if utf8.Valid(doc) && !bytes.Contains(doc, []byte(`\u`)) {
		return nil
	}
	type frame struct {
		path    string
		object  bool
		key     string
		wantKey bool
		index   int
	}
	var stack []*frame
	child := func() string { // the path of the value about to be read
		if len(stack) == 0 {
			return ""
		}
		f := stack[len(stack)-1]
		if f.object {
			if f.path == "" {
				return f.key
			}
			return f.path + "." + f.key
		}
		return f.path + "[" + strconv.Itoa(f.index) + "]"
	}
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		f := stack[len(stack)-1]
		if f.object {
			f.wantKey = true
		} else {
			f.index++
		}
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return banklink.Errorf(banklink.EBADREQUEST, "Request body is not valid JSON.")
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				stack = append(stack, &frame{path: child(), object: t == '{', wantKey: t == '{'})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			top := len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].wantKey
			if top {
				stack[len(stack)-1].key, stack[len(stack)-1].wantKey = t, false
			}
			if problem := rawStringProblem(doc[start:dec.InputOffset()]); problem != "" {
				return banklink.FieldErrorf(strings.ToValidUTF8(truncate(child(), 128), "\ufffd"), "%s", problem)
			}
			if !top {
				valueDone()
			}
		default:
			valueDone()
		}
	}
}

// rawStringProblem checks the raw text of one JSON string token, preceded
// by whatever separators the decoder consumed with it (`, "a\u00e9"`).
func rawStringProblem(raw []byte) string {
	i := bytes.IndexByte(raw, '"')
	if i < 0 || len(raw) < i+2 {
		return ""
	}
	s := raw[i+1 : len(raw)-1]
	if !utf8.Valid(s) {
		return "must be valid UTF-8 text"
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		i++
		if s[i] != 'u' {
			continue
		}
		r := hex4(s[i+1:])
		i += 4
		switch {
		case r == 0:
			return `must not contain a NUL character (\u0000)`
		case r >= 0xdc00 && r <= 0xdfff:
			return "contains an unpaired UTF-16 surrogate escape (\\u" + strconv.FormatUint(uint64(r), 16) + ")"
		case r >= 0xd800 && r <= 0xdbff:
			if len(s) < i+7 || s[i+1] != '\\' || s[i+2] != 'u' {
				return "contains an unpaired UTF-16 surrogate escape (\\u" + strconv.FormatUint(uint64(r), 16) + ")"
			}
			if low := hex4(s[i+3:]); low < 0xdc00 || low > 0xdfff {
				return "contains an unpaired UTF-16 surrogate escape (\\u" + strconv.FormatUint(uint64(r), 16) + ")"
			}
			i += 6
		}
	}
	return ""
}

// hex4 reads the four hex digits of a \u escape the decoder has accepted.
func hex4(b []byte) rune {
	n, _ := strconv.ParseUint(string(b[:4]), 16, 32)
	return rune(n)
}

// truncate bounds user input quoted in error messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
