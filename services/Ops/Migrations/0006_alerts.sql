-- Alerts raised and cleared (docs/alerts.md): each with its period, metadata only. One open alert per rule and key, held
-- by the unique index, so several Ops processes evaluating at once raise it once; clearing sets cleared_at, once.
CREATE TABLE IF NOT EXISTS alerts (
    id         bigserial PRIMARY KEY,
    rule       text NOT NULL,
    key        text NOT NULL,
    detail     text NOT NULL,
    raised_at  timestamptz NOT NULL,
    cleared_at timestamptz,
    CHECK (cleared_at IS NULL OR cleared_at >= raised_at)
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_open ON alerts (rule, key) WHERE cleared_at IS NULL;
CREATE INDEX IF NOT EXISTS alerts_by_clearing ON alerts (cleared_at) WHERE cleared_at IS NOT NULL;

-- The message rules read message_events by status and time: 0005's message_events_by_status_time serves them.

-- Ops adds alerts and closes them; it never deletes one or rewrites its rule, key or start.
GRANT SELECT, INSERT ON alerts TO hub_ops_dml;
GRANT UPDATE (cleared_at) ON alerts TO hub_ops_dml;
GRANT USAGE ON SEQUENCE alerts_id_seq TO hub_ops_dml;
