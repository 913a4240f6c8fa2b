-- The journal of the single schema text these scripts replace; schema_migrations is the journal now.
DROP TABLE IF EXISTS schema_applied;
