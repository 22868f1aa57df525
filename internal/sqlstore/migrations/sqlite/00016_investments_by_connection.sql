-- +goose Up
-- GET /bank-linking/investments/holdings and …/transactions with a
-- connectionId read one connection's rows through these indexes instead
-- of every row of the tenant (transactions got theirs in 00003).
CREATE INDEX holdings_connection ON holdings(connection_id, seq);
CREATE INDEX investment_transactions_connection ON investment_transactions(connection_id, transaction_day DESC, seq DESC);

-- +goose Down
DROP INDEX investment_transactions_connection;
DROP INDEX holdings_connection;
