-- The local test provider delivers its webhooks as a real provider does: each event is kept
-- until the endpoint acknowledges it (2xx), redelivered with back-off after a 5xx, a timeout
-- or a connection error, and given up on a refusal (4xx other than 408/425/429) or when too
-- old. Signed afresh at every attempt (the signature carries its time).
CREATE TABLE local_webhook_deliveries (
    event_id        text PRIMARY KEY,
    body            bytea NOT NULL,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'given_up')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_status     integer,            -- the endpoint's HTTP status (NULL: no answer)
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
CREATE INDEX local_webhook_deliveries_due ON local_webhook_deliveries (next_attempt_at)
    WHERE state = 'pending';
