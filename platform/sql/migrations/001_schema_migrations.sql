-- 001: bookkeeping table for applied migrations.
-- The deploy role applies each file with `psql -v ON_ERROR_STOP=1 -1 -f` as
-- platform_owner and then records the version itself; migrations never insert
-- into this table.
CREATE TABLE schema_migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
