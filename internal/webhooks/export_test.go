package webhooks

// Exported for the table tests of package webhooks_test.
var (
	FailureReason = failureReason
)
