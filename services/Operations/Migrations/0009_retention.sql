-- Retention (issue 14 item 6; GDPR art. 5(1)(e), storage limitation): a delivered body is kept only as long as its
-- receiving system may still need the hub's copy. Deleting it keeps the row's metadata (ids, units, purpose, categories,
-- basis, times), which the status views and the follow-up rely on; the subject's identity number goes with the body.
ALTER TABLE inbox ALTER COLUMN content DROP NOT NULL;
ALTER TABLE inbox ALTER COLUMN subject_id DROP NOT NULL;
ALTER TABLE inbox ADD COLUMN IF NOT EXISTS body_deleted_at timestamptz;
CREATE INDEX IF NOT EXISTS inbox_bodies_kept_after_acknowledgement ON inbox (acknowledged_at)
    WHERE body_deleted_at IS NULL AND acknowledged_at IS NOT NULL;

-- A withdrawn body is deleted at once, in the withdrawal's own transaction, whichever code withdraws it (a revocation,
-- a narrowing, a custody change): the hub may no longer disclose it, so it has no reason to hold it. A trigger, owned by
-- the migration role, so the running service can neither skip nor drop it.
CREATE OR REPLACE FUNCTION inbox_withdrawn_body_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.content := NULL;
    NEW.subject_id := NULL;
    NEW.body_deleted_at := COALESCE(NEW.body_deleted_at, NEW.withdrawn_at);
    RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS inbox_withdrawn_body_deleted ON inbox;
CREATE TRIGGER inbox_withdrawn_body_deleted BEFORE UPDATE OF withdrawn_at ON inbox FOR EACH ROW
    WHEN (NEW.withdrawn_at IS NOT NULL AND OLD.withdrawn_at IS NULL)
    EXECUTE FUNCTION inbox_withdrawn_body_deleted();

-- Bodies withdrawn before this script.
UPDATE inbox SET content = NULL, subject_id = NULL, body_deleted_at = withdrawn_at
WHERE withdrawn_at IS NOT NULL AND body_deleted_at IS NULL;
