-- A push the receiving system answered with an error, or that failed once the request was on its way, may have reached
-- it: such an item is marked, and is pushed again as before. A revocation or change then both withdraws it (it is not
-- handed out again) and lists it in the notice (the system may hold it), where before it was only withdrawn.
ALTER TABLE inbox ADD COLUMN IF NOT EXISTS maybe_received_at timestamptz;
