-- The W3C trace context of the write that committed each event (NULL when
-- it was not traced), so the relay publishes the event in the same trace.
-- The table itself is made by package outbox (outbox.Migrate), before the
-- migrations run.
ALTER TABLE outbox ADD COLUMN traceparent TEXT;
