-- Webhooks to integrators (issue 18): what the delivery loop and the delivery log need beyond
-- 0001's tables.

-- When a subscription stopped (deactivated by staff); its log stays.
ALTER TABLE webhook_subscriptions ADD COLUMN deactivated_at timestamptz;
CREATE INDEX webhook_subscriptions_of_merchant ON webhook_subscriptions (merchant_id)
    WHERE active;

-- `retry_from`: the start of the current round of tries (the event, or the last replay): a
-- delivery is given up `NOTIFY_WEBHOOK_GIVE_UP_AFTER_S` after it. `replays`: how often staff
-- sent it again.
ALTER TABLE webhook_deliveries ADD COLUMN retry_from timestamptz NOT NULL DEFAULT now();
ALTER TABLE webhook_deliveries ADD COLUMN replays integer NOT NULL DEFAULT 0;
-- The delivery log of a subscription, newest first.
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (subscription_id, seq DESC);
