-- The Cloudflare attempt number of the delivery that holds a queue_deliveries lease.
-- Cloudflare redelivers a message (attempt + 1) only after the attempt before it ended, so
-- a delivery of the same send with a higher attempt takes the lease over at once: a
-- holder that failed, or whose lease write lost its reply, no longer parks its own retry
-- for the whole 15-minute lease. A concurrent duplicate copy has no higher attempt and
-- still waits for the lease.
ALTER TABLE queue_deliveries ADD COLUMN holder_attempt INTEGER;
