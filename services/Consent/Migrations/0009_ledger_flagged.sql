-- The review counts (ReviewQueue.CountsSql: every 30 s, and for Ops's overdue-review alert) ask for flagged decisions:
-- kind 'decision' AND (review OR basis = ANY(the assessed bases)). Without an index for either side they read the whole
-- ledger, which only grows (LedgerQueryPlanTests). One partial index per side of the OR, which PostgreSQL combines.
-- The second covers every decision's basis, not only the assessed ones: the statement is prepared, and its generic
-- plan cannot prove that a basis given as a parameter lies inside a narrower predicate. It costs one small index entry
-- per decision.
CREATE INDEX IF NOT EXISTS ledger_flagged_for_review ON ledger (sending_unit) WHERE kind = 'decision' AND review;
CREATE INDEX IF NOT EXISTS ledger_decisions_by_basis ON ledger (basis) WHERE kind = 'decision';
