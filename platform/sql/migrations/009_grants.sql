-- 009: privileges for the application's login role. platform_app may read and
-- write rows (no DELETE, no DDL); it may only read schema_migrations.
-- Default privileges cover tables and sequences that later migrations create
-- (they run as platform_owner too).
GRANT USAGE ON SCHEMA public TO platform_app;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO platform_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO platform_app;
REVOKE INSERT, UPDATE ON schema_migrations FROM platform_app;

ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE ON TABLES TO platform_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT USAGE ON SEQUENCES TO platform_app;
