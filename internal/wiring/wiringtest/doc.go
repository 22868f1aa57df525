// Package wiringtest is test support: the whole service as wiring
// assembles it (API, widget, dashboard, runner, sandbox providers) on a
// real SQLite file behind a real HTTP server, with an OpenAPI-validating
// client, helpers that drive the widget like a customer (Link) and read
// the API like an app (Get, Send), and stacks with Plaid, MX and Finicity
// talking to their spec-checked fakes. Tests of any package that need
// the assembled service use it, so they can live next to the code they
// test.
package wiringtest
