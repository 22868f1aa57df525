package fakemx

import (
	"net/http"
	"slices"
	"strings"
)

// AuthorizationCode is a code the fake handed out for a processor
// (POST /authorization_code), with the scope it grants.
type AuthorizationCode struct {
	Code                              string
	UserGUID, MemberGUID, AccountGUID string
	Features                          []string
}

// authorizationCode is POST /authorization_code: a code scoped to the
// GUIDs and features in the request's scope ("user-guid:USR-…
// member-guid:MBR-… account-guid:ACT-… read-protected"). The member must
// exist for the user and hold the account.
func (s *Server) authorizationCode(w http.ResponseWriter, r *http.Request) {
	var body struct {
		AuthorizationCode *struct {
			Scope *string `json:"scope"`
		} `json:"authorization_code"`
	}
	if err := decode(r, &body); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if body.AuthorizationCode == nil || body.AuthorizationCode.Scope == nil || strings.TrimSpace(*body.AuthorizationCode.Scope) == "" {
		writeError(w, http.StatusBadRequest, "A scope is required.")
		return
	}
	code := AuthorizationCode{}
	for _, part := range strings.Fields(*body.AuthorizationCode.Scope) {
		k, v, ok := strings.Cut(part, ":")
		switch {
		case ok && k == "user-guid":
			code.UserGUID = v
		case ok && k == "member-guid":
			code.MemberGUID = v
		case ok && k == "account-guid":
			code.AccountGUID = v
		case !ok:
			code.Features = append(code.Features, part)
		default:
			writeError(w, http.StatusBadRequest, "Unknown scope element "+k+".")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[code.UserGUID]; !ok {
		writeError(w, http.StatusNotFound, "User not found.")
		return
	}
	m, ok := s.members[code.MemberGUID]
	if !ok || m.userGUID != code.UserGUID {
		writeError(w, http.StatusNotFound, "Member not found.")
		return
	}
	if code.AccountGUID != "" && !slices.ContainsFunc(m.data.accounts, func(a Account) bool { return a.GUID == code.AccountGUID }) {
		writeError(w, http.StatusNotFound, "Account not found.")
		return
	}
	s.seq++
	code.Code = newGUID("code", code.UserGUID, code.MemberGUID, code.AccountGUID, strings.Repeat("x", s.seq))[5:]
	s.codes = append(s.codes, code)
	writeJSON(w, http.StatusOK, map[string]any{"authorization_code": map[string]any{"code": code.Code}})
}

// AuthorizationCodes lists the codes handed out, oldest first.
func (s *Server) AuthorizationCodes() []AuthorizationCode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.codes)
}
