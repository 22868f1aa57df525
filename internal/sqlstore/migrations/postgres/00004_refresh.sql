-- +goose Up
-- When a refresh was last accepted: the refresh rate limit is one
-- conditional UPDATE on it, so replicas cannot both accept one.
ALTER TABLE connections ADD COLUMN refresh_requested_at BIGINT;

-- +goose Down
ALTER TABLE connections DROP COLUMN refresh_requested_at;
