-- A receiving system polls its inbox for what it has not acknowledged yet, all day. inbox_by_unit made that poll walk
-- every row the unit ever received (acknowledged rows stay: retention deletes bodies, not metadata), so its cost grew
-- with the unit's history. This index holds only what is waiting; the listing's query names its predicate literally.
CREATE INDEX IF NOT EXISTS inbox_waiting_by_unit ON inbox (receiving_unit, seq)
    WHERE acknowledged_at IS NULL AND withdrawn_at IS NULL AND body_deleted_at IS NULL;
