-- Bulwark: the database role the web, worker and beat containers use.
--
-- Run once by the postgres image when its data volume is first initialised
-- (/docker-entrypoint-initdb.d), as the owner role "bulwark" (POSTGRES_USER), which also runs
-- the migrations. The application connects as "bulwark_app": it can read and write the desk's
-- tables, but on the audit tables (audit_auditentry, auditlog_logentry) it holds only SELECT and
-- INSERT. It owns nothing, so it can neither disable the append-only triggers nor drop them.
--
-- Change the password for anything but a local stack (and set it in DATABASE_URL).

CREATE ROLE bulwark_app LOGIN PASSWORD 'bulwark_app';
GRANT CONNECT ON DATABASE bulwark TO bulwark_app;
GRANT USAGE ON SCHEMA public TO bulwark_app;

-- Every table and sequence the owner creates from now on (i.e. by migrations)...
ALTER DEFAULT PRIVILEGES FOR ROLE bulwark IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO bulwark_app;
ALTER DEFAULT PRIVILEGES FOR ROLE bulwark IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO bulwark_app;

-- ...except that on the audit tables UPDATE, DELETE and TRUNCATE are revoked again from every
-- role but the owner: by migration audit.0002 and after every `manage.py migrate`
-- (audit/triggers.py, revoke_changes_from_non_owners). Nothing to do here for them.
