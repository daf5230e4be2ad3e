-- API tokens (issue 11), projected from token_created / token_revoked events. Only the
-- SHA-256 of a token is ever stored; the query service looks a presented token up by it.
-- Idempotent, unqualified names: `tonypi replay` runs this in its staging schema too.

CREATE TABLE IF NOT EXISTS api_tokens (
    name TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    created_by JSON,
    revoked_at TIMESTAMP WITH TIME ZONE,
    revoked_by JSON
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_api_tokens_sha256 ON api_tokens(token_sha256);
