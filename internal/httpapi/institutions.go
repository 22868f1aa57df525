package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"banklink"
	"banklink/internal/search"
)

// InstitutionJSON is the wire form of an institution.
type InstitutionJSON struct {
	ID      string   `json:"id"`
	Key     string   `json:"key"`
	Name    string   `json:"name"`
	SubName *string  `json:"subName"`
	Aliases []string `json:"aliases"`
	Domain  *string  `json:"domain"`
	Type    string   `json:"type"`
	IsTest  bool     `json:"isTest"`
	Rank    int      `json:"rank"`
	// Images holds icon, tile and wide, each null when unknown.
	Images   map[string]*string `json:"images"`
	Regions  []banklink.Region  `json:"regions"`
	Products []banklink.Product `json:"products"`
	// Providers is keyed by service provider name, as Meld names them
	// (upper case: SANDBOX, PLAID, MX).
	Providers map[string]ProviderInstitutionJSON `json:"providers"`
}

// ProviderInstitutionJSON is one provider's view of an institution.
type ProviderInstitutionJSON struct {
	ServiceProviderInstitutionID string             `json:"serviceProviderInstitutionId"`
	Products                     []banklink.Product `json:"products"`
	OAuth                        bool               `json:"oauth"`
	Health                       string             `json:"health"`
}

// maxSearchStringLength bounds an institution name search.
const maxSearchStringLength = 256

// NullString is a string sent as null when empty (an external id of a
// customer created without one), and read back from null as "".
type NullString string

// MarshalJSON writes "" as null.
func (n NullString) MarshalJSON() ([]byte, error) {
	if n == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(n))
}

// UnmarshalJSON reads null as "".
func (n *NullString) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*n = ""
	if s != nil {
		*n = NullString(*s)
	}
	return nil
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// institutionJSON renders in, showing only the providers enabled in the
// caller's environment.
func institutionJSON(in *banklink.Institution, enabled map[string]bool) InstitutionJSON {
	out := InstitutionJSON{
		ID: in.ID, Key: in.Key, Name: in.Name, SubName: strPtr(in.SubName), Aliases: in.Aliases, Domain: strPtr(in.Domain),
		Type: in.Type, IsTest: in.IsTest, Rank: in.Rank, Regions: in.Regions,
		Images:    map[string]*string{},
		Providers: map[string]ProviderInstitutionJSON{},
	}
	if out.Aliases == nil {
		out.Aliases = []string{}
	}
	if out.Regions == nil {
		out.Regions = []banklink.Region{}
	}
	for k, v := range map[string]string{"icon": in.Images.Icon, "tile": in.Images.Tile, "wide": in.Images.Wide} {
		// An inline logo (Plaid's) is not a URL, and the in-memory
		// directory holds only a marker for it (search.StoredImage).
		if strings.HasPrefix(v, "data:") {
			v = ""
		}
		out.Images[k] = strPtr(v)
	}
	var union banklink.ProductSet
	for name, p := range in.Providers {
		if enabled != nil && !enabled[name] {
			continue
		}
		set := banklink.NewProductSet(p.Products...)
		union |= set
		out.Providers[banklink.ProviderWireName(name)] = ProviderInstitutionJSON{
			ServiceProviderInstitutionID: p.ProviderInstitutionID, Products: set.Slice(), OAuth: p.Redirect, Health: p.Health,
		}
	}
	out.Products = union.Slice()
	return out
}

// InstitutionList is the body of GET /institutions.
type InstitutionList struct {
	Institutions []InstitutionJSON `json:"institutions"`
	Count        int               `json:"count"`
	Remaining    int               `json:"remaining"`
}

// MaxInstitutionLimit bounds limit on GET /institutions.
const MaxInstitutionLimit = 1000

func (s *Server) handleSearchInstitutions(w http.ResponseWriter, r *http.Request) error {
	key := apiKeyFrom(r.Context())
	enabled := setOf(s.Config.Providers[key.Environment])
	q, err := parseInstitutionQuery(r.URL.Query(), enabled)
	if err != nil {
		return err
	}
	res, err := s.Directory.Current().Search(q)
	if err != nil {
		return err
	}
	out := InstitutionList{Institutions: make([]InstitutionJSON, 0, len(res.Institutions)), Count: res.Count, Remaining: res.Remaining}
	for _, in := range res.Institutions {
		out.Institutions = append(out.Institutions, institutionJSON(in, enabled))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func csv(v url.Values, name string) []string {
	var out []string
	for _, raw := range v[name] {
		for _, part := range strings.Split(raw, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

func parseInstitutionQuery(v url.Values, enabled map[string]bool) (search.Query, error) {
	q := search.Query{Limit: 10, Eligibility: banklink.Eligibility{AllowRedirect: true, Providers: enabled}}
	if name := v.Get("name"); name != "" {
		text, err := banklink.CleanText("name", name, maxSearchStringLength)
		if err != nil {
			return q, err
		}
		q.Name = text
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxInstitutionLimit {
			return q, banklink.FieldErrorf("limit", "must be a whole number from 1 to %d", MaxInstitutionLimit)
		}
		q.Limit = n
	}
	q.After, q.Before = v.Get("after"), v.Get("before")
	if q.After != "" && q.Before != "" {
		return q, banklink.Errorf(banklink.EBADREQUEST, "Pass either [before] or [after], not both.")
	}
	seen := map[banklink.Product]bool{}
	for _, p := range csv(v, "products") {
		prod := banklink.Product(strings.ToUpper(p))
		if !slices.Contains(banklink.Capabilities, prod) {
			return q, banklink.FieldErrorf("products", "contains unknown product %q", truncate(p, 64))
		}
		seen[prod] = true
	}
	for p := range seen {
		q.Eligibility.Products |= banklink.NewProductSet(p)
	}
	regions, err := banklink.ValidateRegions("regions", csv(v, "regions"))
	if err != nil {
		return q, err
	}
	q.Eligibility.Regions = regions
	for _, t := range csv(v, "type") {
		t = strings.ToUpper(t)
		if !slices.Contains(banklink.InstitutionTypes, t) {
			return q, banklink.FieldErrorf("type", "contains unknown type %q; valid values are %s", truncate(t, 64), strings.Join(banklink.InstitutionTypes, ", "))
		}
		q.Types = append(q.Types, t)
	}
	for _, p := range csv(v, "serviceProviders") {
		pt := banklink.ProviderTypeOf(p)
		if !enabled[pt] {
			return q, banklink.FieldErrorf("serviceProviders", "contains %q, which is not an enabled service provider", truncate(p, 64))
		}
		q.ServiceProviders = append(q.ServiceProviders, pt)
	}
	if a := v.Get("allowRedirect"); a != "" {
		b, err := strconv.ParseBool(a)
		if err != nil {
			return q, banklink.FieldErrorf("allowRedirect", "must be true or false")
		}
		q.Eligibility.AllowRedirect = b
	}
	return q, nil
}

func (s *Server) handleGetInstitution(w http.ResponseWriter, r *http.Request) error {
	key := apiKeyFrom(r.Context())
	id := r.PathValue("id")
	in, ok := s.Directory.Current().ByID(id)
	if !ok {
		var err error
		if in, err = s.Store.FindInstitutionByID(r.Context(), id); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, institutionJSON(in, setOf(s.Config.Providers[key.Environment])))
	return nil
}
