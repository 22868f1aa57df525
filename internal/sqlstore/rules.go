package sqlstore

import (
	"slices"
	"strings"

	"banklink"
)

// The domain rules live in the root package as Go; the SQL that applies
// them is rendered here from the same Go, once, at start.

// sqlList renders values as a SQL list of string literals: ('A', 'B').
// The values are the root package's constants, never input, so literals
// are safe; and a literal list, unlike parameters, lets the planner match
// a partial index whose predicate holds the same list
// (TestIndexPredicatesMatchRules keeps the two identical).
func sqlList[T ~string](values []T) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = sqlString(v)
	}
	return "(" + strings.Join(quoted, ", ") + ")"
}

// sqlString renders v as a SQL string literal (see sqlList).
func sqlString[T ~string](v T) string {
	return "'" + strings.ReplaceAll(string(v), "'", "''") + "'"
}

// statusesWhere lists the statuses rule holds for, in
// banklink.ConnectionStatuses' order: the order the migrations' index
// predicates were written in.
func statusesWhere(rule func(banklink.ConnectionStatus) bool) []banklink.ConnectionStatus {
	return slices.DeleteFunc(slices.Clone(banklink.ConnectionStatuses), func(s banklink.ConnectionStatus) bool { return !rule(s) })
}

// linked is the condition of banklink.ConnectionStatus.Linked: a
// connection holding a provider login.
var linked = `status NOT IN ` + sqlList(statusesWhere(func(s banklink.ConnectionStatus) bool { return !s.Linked() }))

// refreshDue is the status condition of a scheduled refresh, and the
// predicate of the connections_refresh_due index (migration 00015).
var refreshDue = `status IN ` + sqlList(statusesWhere(banklink.ConnectionStatus.RefreshedOnSchedule))

// repairable is banklink.Connection.Repairable as a condition on the
// connections table.
var repairable = func() string {
	var always []banklink.ConnectionStatus
	var byReason []string
	for _, s := range banklink.ConnectionStatuses {
		switch all, reasons := banklink.RepairableReasons(s); {
		case all:
			always = append(always, s)
		case len(reasons) > 0:
			byReason = append(byReason, "(status = "+sqlString(s)+" AND status_reason IN "+sqlList(reasons)+")")
		}
	}
	return "(" + strings.Join(append([]string{"status IN " + sqlList(always)}, byReason...), " OR ") + ")"
}()
