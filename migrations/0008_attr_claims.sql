-- A workflow writer's attr_set claims its (run, correlationId): a second claim is refused
-- (world-contract-v5 §4.5). A step writer's attr_set claims nothing, even when it carries a
-- correlation id, so the claim is marked on the event's row rather than read from its type.
ALTER TABLE slots ADD COLUMN claims_correlation INTEGER NOT NULL DEFAULT 0;
-- Before this column every attr_set with a correlation id counted as a claim; keep that.
UPDATE slots SET claims_correlation = 1 WHERE event_type = 'attr_set' AND correlation_id IS NOT NULL;
