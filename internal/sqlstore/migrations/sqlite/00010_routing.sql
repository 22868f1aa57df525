-- +goose Up
-- Routing: the provider a connect/start request named, the decision that
-- picked the connection's provider (JSON), and recent login and
-- aggregation outcomes per provider and institution for health-aware
-- routing.
ALTER TABLE connections ADD COLUMN requested_provider TEXT NOT NULL DEFAULT '';
ALTER TABLE connections ADD COLUMN routing_decision TEXT NOT NULL DEFAULT '';

CREATE TABLE provider_attempts (
    provider       TEXT NOT NULL,
    institution_id TEXT NOT NULL,
    at             BIGINT NOT NULL,
    ok             BOOLEAN NOT NULL,
    reason         TEXT NOT NULL
);
CREATE INDEX provider_attempts_pair ON provider_attempts(provider, institution_id, at);

-- +goose Down
DROP TABLE provider_attempts;
ALTER TABLE connections DROP COLUMN routing_decision;
ALTER TABLE connections DROP COLUMN requested_provider;
