-- Least privilege (docs/security.md, "Database roles"). The service logs in as a member of hub_operation_dml, a group
-- role the deployment's provisioning creates, and runs no DDL; these scripts run as its migration role, which owns the
-- schema. The four operation services share this group: each reaches only its own database, by CONNECT.
-- Rows are updated as messages move on (fetched, acknowledged, withdrawn, pushed), never deleted: a withdrawal is a
-- timestamp, and what a unit received stays for its audit.
GRANT SELECT, INSERT, UPDATE ON sent_messages, inbox, revocation_notices, idempotency_keys TO hub_operation_dml;
GRANT USAGE ON SEQUENCE inbox_seq_seq, revocation_notices_seq_seq TO hub_operation_dml;
GRANT SELECT, INSERT ON revoked_consents TO hub_operation_dml;
-- A receiving unit replaces or removes its own webhook.
GRANT SELECT, INSERT, UPDATE, DELETE ON webhooks TO hub_operation_dml;
-- The service checks at start that every script it carries has been applied.
GRANT SELECT ON schema_migrations TO hub_operation_dml;
