-- Notifications (schema `notify`): residents' contact details, the messages told to them,
-- departments' senders, integrators' webhook subscriptions and their deliveries.

CREATE TABLE contacts (
    customer    text PRIMARY KEY,             -- the principal subject
    email       text,
    phone       text,                         -- E.164
    locale      text NOT NULL DEFAULT 'fi' CHECK (locale IN ('fi', 'sv', 'en')),
    reminders   boolean NOT NULL DEFAULT true,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE departments (
    merchant_id text PRIMARY KEY,
    sender      text NOT NULL,
    sender_name text NOT NULL DEFAULT '',
    reply_to    text,
    footer      jsonb NOT NULL DEFAULT '{}',  -- {"fi": ..., "sv": ..., "en": ...}
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per event, recipient, channel and kind: the unique key is what makes a redelivered
-- event give one message. `data` holds the ids and times needed to write it (no text).
CREATE TABLE messages (
    id              uuid PRIMARY KEY,
    event_id        uuid NOT NULL,
    customer        text NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('email', 'sms')),
    kind            text NOT NULL,
    merchant_id     text NOT NULL DEFAULT '',
    locale          text NOT NULL CHECK (locale IN ('fi', 'sv', 'en')),
    address         text,
    data            jsonb NOT NULL,
    state           text NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'skipped')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_until   timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    UNIQUE (event_id, customer, channel, kind)
);
CREATE INDEX messages_due ON messages (next_attempt_at) WHERE state = 'pending';
CREATE INDEX messages_of_customer ON messages (customer, created_at DESC);

-- Integrators' subscriptions (a department's system) to event subjects.
CREATE TABLE webhook_subscriptions (
    id           uuid PRIMARY KEY,
    merchant_id  text NOT NULL,
    url          text NOT NULL,
    secret       text NOT NULL,                -- whsec_<base64>, Standard Webhooks
    event_types  text[] NOT NULL,              -- subjects, e.g. evt.booking.reservation.confirmed
    active       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- One delivery per subscription and event; `seq` orders the deliveries of one subject
-- (ordering_key, e.g. a reservation) to one subscription: the next waits for the earlier.
CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY,          -- the webhook-id header
    seq             bigserial NOT NULL,
    subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id),
    event_id        uuid NOT NULL,
    subject         text NOT NULL,
    ordering_key    text NOT NULL,
    payload         bytea NOT NULL,
    state           text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_until   timestamptz,
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (subscription_id, ordering_key, seq)
    WHERE state = 'pending';
