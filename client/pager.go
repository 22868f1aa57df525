package client

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// list walks one list operation of the API, serving every list method.
// Each page answers {<field>: [...], remaining: n}; while records remain,
// the next page starts after the last record's key (walking backward,
// with Page.Before set: before the first one's). filter is a struct whose
// `query` tags name the operation's parameters (nil: none).
func list[T any](c *Client, ctx context.Context, p, field string, filter any, opts []RequestOption) iter.Seq2[T, error] {
	first := encodeQuery(filter)
	return func(yield func(T, error) bool) {
		var zero T
		q := first
		backward := q.Get("before") != ""
		for {
			items, remaining, err := fetchPage(c, ctx, p, q, field, opts)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, raw := range items {
				var item T
				if err := json.Unmarshal(raw, &item); err != nil {
					yield(zero, fmt.Errorf("banklink: decode %s: %w", field, err))
					return
				}
				if !yield(item, nil) {
					return
				}
			}
			if remaining <= 0 || len(items) == 0 {
				return
			}
			// A new query for each page leaves first as it was, for
			// ranging over the iterator again.
			next := url.Values{}
			for k, v := range q {
				next[k] = v
			}
			if backward {
				next.Set("before", cursor(items[0]))
			} else {
				next.Del("before")
				next.Set("after", cursor(items[len(items)-1]))
			}
			if next.Get("before") == "" && next.Get("after") == "" {
				return // records without keys (profiles): one page is all
			}
			q = next
		}
	}
}

// fetchPage gets one page: its records, undecoded, and how many remain.
func fetchPage(c *Client, ctx context.Context, p string, q url.Values, field string, opts []RequestOption) ([]json.RawMessage, int, error) {
	var env map[string]json.RawMessage
	if err := c.call(ctx, &request{method: http.MethodGet, path: p, query: q, out: &env}, opts); err != nil {
		return nil, 0, err
	}
	var items []json.RawMessage
	if err := json.Unmarshal(env[field], &items); err != nil {
		return nil, 0, fmt.Errorf("banklink: decode %s: %w", field, err)
	}
	var remaining int
	if raw, ok := env["remaining"]; ok {
		if err := json.Unmarshal(raw, &remaining); err != nil {
			return nil, 0, fmt.Errorf("banklink: decode remaining: %w", err)
		}
	}
	return items, remaining, nil
}

// cursor is a record's paging key: every pageable record of the API has
// one under "key".
func cursor(raw json.RawMessage) string {
	var k struct {
		Key string `json:"key"`
	}
	json.Unmarshal(raw, &k)
	return k.Key
}

// encodeQuery turns a filter into a query: each field tagged
// `query:"name"` that is set becomes name=value, lists joined by commas
// as the API takes them; embedded structs (Page) add theirs. Empty
// values are left out, since the API refuses empty parameters.
func encodeQuery(filter any) url.Values {
	q := url.Values{}
	if filter != nil {
		addQuery(q, reflect.ValueOf(filter))
	}
	return q
}

func addQuery(q url.Values, v reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		if f.Anonymous {
			addQuery(q, fv)
			continue
		}
		name := f.Tag.Get("query")
		if name == "" {
			continue
		}
		switch x := fv.Interface().(type) {
		case string:
			if x != "" {
				q.Set(name, x)
			}
		case []string:
			if len(x) > 0 {
				q.Set(name, strings.Join(x, ","))
			}
		case int:
			if x > 0 {
				q.Set(name, strconv.Itoa(x))
			}
		case *bool:
			if x != nil {
				q.Set(name, strconv.FormatBool(*x))
			}
		default:
			// A programming error in this package, which
			// TestFiltersMatchOpenAPI catches for every filter.
			panic(fmt.Sprintf("client: %s.%s: no query encoding for %T", t.Name(), f.Name, x))
		}
	}
}

func path(format string, ids ...string) string {
	a := make([]any, len(ids))
	for i, id := range ids {
		a[i] = url.PathEscape(id)
	}
	return fmt.Sprintf(format, a...)
}

// idempotency says whether an operation takes an Idempotency-Key: most
// that create or change something do; some the server refuses it on
// (create-token, whose stored answer would keep the token in clear) and
// PUT and PATCH take none.
type idempotency bool

const (
	withKey idempotency = true
	noKey   idempotency = false
)

// get fetches one record.
func get[T any](c *Client, ctx context.Context, p string, opts []RequestOption) (*T, error) {
	return do[T](c, ctx, &request{method: http.MethodGet, path: p}, opts)
}

// send is a request that creates or changes something.
func send[T any](c *Client, ctx context.Context, method, p string, body any, key idempotency, opts []RequestOption) (*T, error) {
	return do[T](c, ctx, &request{method: method, path: p, body: body, idempotent: bool(key)}, opts)
}

func do[T any](c *Client, ctx context.Context, r *request, opts []RequestOption) (*T, error) {
	var out T
	r.out = &out
	if err := c.call(ctx, r, opts); err != nil {
		return nil, err
	}
	return &out, nil
}
