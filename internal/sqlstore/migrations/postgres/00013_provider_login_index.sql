-- +goose Up
-- Provider webhooks name a login (Plaid's item_id), not a banklink
-- connection or tenant: they are routed to the connections holding that
-- login through this index.
CREATE INDEX connections_provider_login ON connections(provider_type, provider_login_id);

-- +goose Down
DROP INDEX connections_provider_login;
