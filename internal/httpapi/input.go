package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"banklink"
)

// Every value a client sends reaches the database as text. PostgreSQL
// refuses a NUL byte or invalid UTF-8 in text (SQLSTATE 22021), which
// surfaced as a 500, and SQLite stores them; neither is ever a meaningful
// id or filter. So every path value, query value and JSON string is
// checked once, here and in decodeBody, before any handler runs.

// MaxListItems bounds the items of a multi-valued query filter
// (statuses=A,B,…, customerIds=…). Each item becomes a term of the SQL
// query: SQLite refuses an expression of about a thousand terms ("Expression
// tree is too large"), and 40,000 ids cost seconds of CPU per request.
const MaxListItems = 100

type paramKind uint8

const (
	// single: one value, given once.
	single paramKind = iota
	// list: comma-separated items, the parameter possibly repeated; at
	// most MaxListItems items in all.
	list
)

// paging are the cursor parameters of every list.
var paging = map[string]paramKind{"limit": single, "before": single, "after": single}

func params(kinds map[string]paramKind, extra ...map[string]paramKind) map[string]paramKind {
	out := map[string]paramKind{}
	for _, m := range append([]map[string]paramKind{kinds}, extra...) {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// queryParams are the query parameters of each API route: the one place
// they are listed. A route not listed takes none. Requests with any other
// parameter are refused, so a typo (customerID) is an error instead of an
// unfiltered answer. TestQueryParamsMatchOpenAPI keeps this table and
// openapi.yaml equal.
var queryParams = map[string]map[string]paramKind{
	"GET /bank-linking/connections": params(map[string]paramKind{"customerId": single, "externalCustomerId": single, "institutionId": single,
		"statuses": list, "serviceProviders": list, "startDate": single, "endDate": single}, paging),
	"GET /bank-linking/accounts": params(map[string]paramKind{"customerId": single, "externalCustomerId": single, "institutionId": single,
		"connectionId": single}, paging),
	"GET /bank-linking/transactions": params(map[string]paramKind{"customerId": single, "externalCustomerId": single, "financialAccountId": single,
		"connectionId": single, "status": single, "category": single, "startDate": single, "endDate": single}, paging),
	"GET /bank-linking/investments/holdings": params(map[string]paramKind{"customerId": single, "externalCustomerId": single,
		"financialAccountId": single, "connectionId": single}, paging),
	"GET /bank-linking/investments/transactions": params(map[string]paramKind{"customerId": single, "externalCustomerId": single,
		"financialAccountId": single, "connectionId": single, "statuses": list, "startDate": single, "endDate": single}, paging),
	"GET /accounts/customers": params(map[string]paramKind{"customerIds": list, "externalId": single, "email": single, "phone": single,
		"status": single, "type": single}, paging),
	"GET /institutions": params(map[string]paramKind{"name": single, "regions": list, "products": list, "serviceProviders": list,
		"type": list, "allowRedirect": single}, paging),
	"GET /webhooks/events": params(map[string]paramKind{"connectionId": single, "eventTypes": list}, paging),
	"GET /activity-log": params(map[string]paramKind{"start": single, "end": single, "connectionId": single, "actions": list,
		"eventTypes": list}, paging),
}

// checkInput refuses a request whose path values or query do not fit the
// route before h runs. query nil leaves the query unchecked (routes other
// packages add, whose pages read their own parameters).
func checkInput(pattern string, query map[string]paramKind, h handlerFunc) handlerFunc {
	wildcards := patternWildcards(pattern)
	return func(w http.ResponseWriter, r *http.Request) error {
		for _, name := range wildcards {
			if err := checkText(name, r.PathValue(name)); err != nil {
				return err
			}
		}
		if query != nil {
			if err := checkQuery(r.URL.RawQuery, query); err != nil {
				return err
			}
		}
		return h(w, r)
	}
}

// patternWildcards returns the names of a ServeMux pattern's wildcards:
// "GET /a/{id}/b/{rest...}" gives id and rest.
func patternWildcards(pattern string) []string {
	var out []string
	for seg := range strings.SplitSeq(pattern, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			name := strings.TrimSuffix(strings.Trim(seg, "{}"), "...")
			if name != "$" {
				out = append(out, name)
			}
		}
	}
	return out
}

// checkText refuses what no database text column should hold.
func checkText(name, v string) error {
	if strings.IndexByte(v, 0) >= 0 {
		return banklink.FieldErrorf(name, "must not contain a NUL character")
	}
	if !utf8.ValidString(v) {
		return banklink.FieldErrorf(name, "must be valid UTF-8 text")
	}
	return nil
}

func checkQuery(raw string, known map[string]paramKind) error {
	if raw == "" {
		return nil
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		// url.Values drops what it cannot parse, which would turn a
		// filter into no filter.
		return banklink.Errorf(banklink.EBADREQUEST, "The query string is malformed: separate parameters with & and percent-encode values (%s).", truncate(strings.TrimPrefix(err.Error(), "invalid "), 80))
	}
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	sort.Strings(names) // the same request gets the same error
	for _, name := range names {
		field := strings.ToValidUTF8(truncate(name, 64), "\ufffd")
		kind, ok := known[name]
		if !ok {
			if len(known) == 0 {
				return banklink.FieldErrorf(field, "is not a parameter of this endpoint, which takes none")
			}
			return banklink.FieldErrorf(field, "is not a parameter of this endpoint; it takes %s", strings.Join(sortedKeys(known), ", "))
		}
		values := v[name]
		if kind == single && len(values) > 1 {
			return banklink.FieldErrorf(name, "must be given once")
		}
		items := 0
		for _, value := range values {
			if value == "" {
				return banklink.FieldErrorf(name, "must not be empty; leave the parameter out to not filter on it")
			}
			if err := checkText(name, value); err != nil {
				return err
			}
			if kind == list {
				for item := range strings.SplitSeq(value, ",") {
					if strings.TrimSpace(item) == "" {
						return banklink.FieldErrorf(name, "contains an empty item; separate items with single commas")
					}
					if items++; items > MaxListItems {
						return banklink.FieldErrorf(name, "must list at most %d items", MaxListItems)
					}
				}
			}
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
