// Package metrics is banklink's Prometheus instrumentation: one Metrics
// value owns its own registry (never the global one), the Go runtime and
// process collectors and banklink's own series, and serves them in the
// Prometheus text format.
//
// Every method is a no-op on a nil *Metrics, so callers hold an optional
// *Metrics and call it unconditionally; tests leave it unset.
//
// Label values are bounded by construction: routes are ServeMux patterns
// (or "unmatched"), methods outside the standard set count as "other",
// outcomes are fixed words. Never pass a raw path, an id or an error text
// as a label.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Webhook delivery outcomes, the values of
// banklink_webhook_deliveries_total{outcome}.
const (
	// WebhookDelivered: the endpoint answered 2xx.
	WebhookDelivered = "delivered"
	// WebhookRetry: the attempt failed and another is scheduled.
	WebhookRetry = "retry"
	// WebhookFailed: the attempt failed and no other will be made.
	WebhookFailed = "failed"
)

// Outcomes of provider calls and aggregation jobs, the values of their
// outcome labels.
const (
	OutcomeOK    = "ok"
	OutcomeError = "error"
)

// UnmatchedRoute is the route label of requests no registered pattern
// matched.
const UnmatchedRoute = "unmatched"

// Metrics holds banklink's collectors and the registry they live in.
type Metrics struct {
	registry *prometheus.Registry
	handler  http.Handler

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec

	webhookDeliveries *prometheus.CounterVec
	webhookDuration   prometheus.Histogram
	webhookPending    prometheus.Gauge

	providerRequests *prometheus.CounterVec
	providerDuration *prometheus.HistogramVec

	aggregationJobs     *prometheus.CounterVec
	aggregationDuration prometheus.Histogram
	aggregationRunning  prometheus.Gauge
	aggregationQueued   prometheus.Gauge
	aggregationPending  prometheus.Gauge
}

// New returns Metrics on a fresh registry holding the Go runtime and
// process collectors and every banklink_* series.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "banklink_http_requests_total",
			Help: "HTTP requests served, by method, route pattern and status code.",
		}, []string{"method", "route", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "banklink_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by method and route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
		webhookDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "banklink_webhook_deliveries_total",
			Help: "Webhook delivery attempts, by outcome: delivered, retry (another attempt is scheduled) or failed (given up).",
		}, []string{"outcome"}),
		webhookDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "banklink_webhook_delivery_duration_seconds",
			Help:    "Time of one webhook delivery attempt.",
			Buckets: prometheus.DefBuckets,
		}),
		webhookPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "banklink_webhook_pending",
			Help: "Webhook deliveries waiting to be attempted.",
		}),
		providerRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "banklink_provider_requests_total",
			Help: "Calls to upstream providers, by provider, operation and outcome (ok or error).",
		}, []string{"provider", "operation", "outcome"}),
		providerDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "banklink_provider_request_duration_seconds",
			Help:    "Time of one call to an upstream provider, by provider and operation.",
			Buckets: prometheus.DefBuckets,
		}, []string{"provider", "operation"}),
		aggregationJobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "banklink_aggregation_jobs_total",
			Help: "Aggregation jobs finished, by outcome (ok or error).",
		}, []string{"outcome"}),
		aggregationDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "banklink_aggregation_duration_seconds",
			Help: "Time of one aggregation job.",
			// 0.1 s to about 7 min: jobs fetch up to two years of data.
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 13),
		}),
		aggregationRunning: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "banklink_aggregations_running",
			Help: "Aggregations this process is running.",
		}),
		aggregationQueued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "banklink_aggregations_queued",
			Help: "Aggregations waiting in this process for one of its workers.",
		}),
		aggregationPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "banklink_aggregations_pending",
			Help: "Connections whose aggregation is pending, across every replica: running, queued or waiting in the database.",
		}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.httpDuration,
		m.webhookDeliveries, m.webhookDuration, m.webhookPending,
		m.providerRequests, m.providerDuration,
		m.aggregationJobs, m.aggregationDuration,
		m.aggregationRunning, m.aggregationQueued, m.aggregationPending,
	)
	// Export the fixed outcomes at zero from the start, so rates and
	// alerts work before the first event.
	for _, o := range []string{WebhookDelivered, WebhookRetry, WebhookFailed} {
		m.webhookDeliveries.WithLabelValues(o)
	}
	for _, o := range []string{OutcomeOK, OutcomeError} {
		m.aggregationJobs.WithLabelValues(o)
	}
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	return m
}

// ObserveRequest records one served HTTP request. route must be a
// ServeMux pattern or UnmatchedRoute ("" counts as unmatched); status 0
// (nothing written) counts as 200, as net/http sends.
func (m *Metrics) ObserveRequest(method, route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	method = normalizeMethod(method)
	if route == "" {
		route = UnmatchedRoute
	}
	if status <= 0 {
		status = http.StatusOK
	}
	m.httpRequests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(method, route).Observe(d.Seconds())
}

// ObserveWebhook records one webhook delivery attempt; outcome is
// WebhookDelivered, WebhookRetry or WebhookFailed.
func (m *Metrics) ObserveWebhook(outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.webhookDeliveries.WithLabelValues(outcome).Inc()
	m.webhookDuration.Observe(d.Seconds())
}

// SetWebhookPending sets the number of deliveries waiting to be attempted.
func (m *Metrics) SetWebhookPending(n int) {
	if m == nil {
		return
	}
	m.webhookPending.Set(float64(n))
}

// SetAggregations sets the aggregations this process runs and queues,
// and those pending across every replica.
func (m *Metrics) SetAggregations(running, queued, pending int) {
	if m == nil {
		return
	}
	m.aggregationRunning.Set(float64(running))
	m.aggregationQueued.Set(float64(queued))
	m.aggregationPending.Set(float64(pending))
}

// ObserveProvider records one call to an upstream provider: provider is
// its type (e.g. "sandbox"), operation a fixed name such as "accounts";
// err decides the outcome.
func (m *Metrics) ObserveProvider(provider, operation string, err error, d time.Duration) {
	if m == nil {
		return
	}
	m.providerRequests.WithLabelValues(provider, operation, outcome(err)).Inc()
	m.providerDuration.WithLabelValues(provider, operation).Observe(d.Seconds())
}

// ObserveAggregation records one finished aggregation job.
func (m *Metrics) ObserveAggregation(err error, d time.Duration) {
	if m == nil {
		return
	}
	m.aggregationJobs.WithLabelValues(outcome(err)).Inc()
	m.aggregationDuration.Observe(d.Seconds())
}

// Handler serves the registry in the Prometheus exposition format. On a
// nil *Metrics it answers 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return m.handler
}

func outcome(err error) string {
	if err != nil {
		return OutcomeError
	}
	return OutcomeOK
}

// normalizeMethod keeps the method label bounded: a client can send any
// token as a method.
func normalizeMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}
