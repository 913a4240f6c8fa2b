-- Least privilege (docs/security.md, "Database roles"). The service logs in as a member of hub_ops_dml, a group role the
-- deployment's provisioning creates, and runs no DDL; these scripts run as its migration role, which owns the schema.
-- Ops records what it is told and shows it: rows are only added.
GRANT SELECT, INSERT ON message_events, access_refusals TO hub_ops_dml;
GRANT USAGE ON SEQUENCE access_refusals_seq_seq TO hub_ops_dml;
-- The service checks at start that every script it carries has been applied.
GRANT SELECT ON schema_migrations TO hub_ops_dml;
