-- What the sender showed for a basis other than consent travels with the disclosure to its receiver (domain.md section
-- 4: the written justification of the protective bases; the assessment reference and the assessor of a harm
-- assessment). The justification is free text, so it goes with the body: when a withdrawal or retention deletes the body,
-- it deletes this too.
ALTER TABLE inbox ADD COLUMN IF NOT EXISTS basis_evidence jsonb;

CREATE OR REPLACE FUNCTION inbox_withdrawn_body_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.content := NULL;
    NEW.subject_id := NULL;
    NEW.basis_evidence := NULL;
    NEW.body_deleted_at := COALESCE(NEW.body_deleted_at, NEW.withdrawn_at);
    RETURN NEW;
END;
$$;
