package httpx

import (
	"net/http"

	"banklink"
)

// statusOf is the one table from banklink error codes to HTTP statuses,
// for every HTTP adapter.
var statusOf = map[string]int{
	banklink.EBADREQUEST:      http.StatusBadRequest,
	banklink.EUNAUTHORIZED:    http.StatusUnauthorized,
	banklink.EFORBIDDEN:       http.StatusForbidden,
	banklink.ENOTFOUND:        http.StatusNotFound,
	banklink.EMETHOD:          http.StatusMethodNotAllowed,
	banklink.ECONFLICT:        http.StatusConflict,
	banklink.EUNSUPPORTEDTYPE: http.StatusUnsupportedMediaType,
	banklink.ERATELIMITED:     http.StatusTooManyRequests,
	banklink.ENOTSUPPORTED:    http.StatusBadRequest,
	banklink.EPROVIDER:        http.StatusBadGateway,
	banklink.ELOGIN:           http.StatusUnprocessableEntity,
	banklink.EUNAVAILABLE:     http.StatusServiceUnavailable,
	banklink.EINTERNAL:        http.StatusInternalServerError,
}

// StatusOf returns the HTTP status for err.
func StatusOf(err error) int {
	if s, ok := statusOf[banklink.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}
