-- +goose Up
-- How many times a widget session was saved: saves are conditional on the
-- version read, so two requests (on any replicas) acting on the same step
-- cannot both move the session on.
ALTER TABLE connect_sessions ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE connect_sessions DROP COLUMN version;
