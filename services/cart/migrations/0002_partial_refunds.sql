-- A line asked to be partly refunded remembers where it goes when the money is back:
-- `partially_refunded` (delivered, or the goods will never come) or the fulfilment state it
-- was in (pending / queued / registration_failed: the rest is still owed to the buyer).
ALTER TABLE order_lines ADD COLUMN resume_state text;
