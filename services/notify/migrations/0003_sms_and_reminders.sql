-- SMS and reminders (issue 18).

-- What the development SMS provider "sent" (no NOTIFY_SMS_URL): kept for the development
-- page instead of leaving the machine. One row per message: a message sent again after a
-- crash between the provider's answer and `mark_sent` is recorded once.
CREATE TABLE dev_sms (
    message_id  uuid PRIMARY KEY,
    phone       text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- A reminder per confirmed reservation, due `hours` before it starts (the resource's own
-- hours from `resource_reminders`, else NOTIFY_REMINDER_HOURS). `sequence` is the
-- reservation's change counter: an older event never undoes a newer one (a cancellation
-- arriving before a redelivered confirmation stays cancelled).
CREATE TABLE reminders (
    reservation_id uuid PRIMARY KEY,
    resource_id    uuid NOT NULL,
    customer       text NOT NULL,
    merchant_id    text NOT NULL DEFAULT '',
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL,
    confirmed_at   timestamptz NOT NULL,
    sequence       integer NOT NULL DEFAULT 0,
    state          text NOT NULL CHECK (state IN ('scheduled', 'sent', 'cancelled', 'skipped')),
    reason         text,                       -- why skipped
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reminders_due ON reminders (starts_at) WHERE state = 'scheduled';

-- A resource's own reminder time (hours before the start; 0: no reminders for it).
CREATE TABLE resource_reminders (
    resource_id uuid PRIMARY KEY,
    merchant_id text NOT NULL,
    hours       integer NOT NULL CHECK (hours BETWEEN 0 AND 336),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
