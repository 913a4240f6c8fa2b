-- Least privilege (docs/security.md, "Database roles"). The service logs in as a member of hub_consent_dml, a group role
-- the deployment's provisioning creates, and runs no DDL; these scripts run as its migration role, which owns the schema.
-- Consents and announcements are only ever added (a change is a new version), so neither may be updated or deleted.
GRANT SELECT, INSERT ON consent_versions, revocation_announcements TO hub_consent_dml;
-- The service checks at start that every script it carries has been applied.
GRANT SELECT ON schema_migrations TO hub_consent_dml;

-- The ledger is appended to and read, nothing else: no UPDATE or DELETE (which the trigger refuses as well), no
-- TRUNCATE (which no row trigger sees). Its owner is a role nobody logs in as, so the service's login can neither drop
-- nor disable the append-only trigger nor replace its function; the migration role reaches it as a member of that role.
GRANT SELECT, INSERT ON ledger TO hub_consent_dml;
ALTER TABLE ledger OWNER TO hub_ledger_owner;
ALTER FUNCTION ledger_append_only() OWNER TO hub_ledger_owner;
