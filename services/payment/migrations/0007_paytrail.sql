-- Paytrail (payment API v2): what we sent it, kept on our side because Paytrail has no
-- idempotency keys, and the reports providers deliver later by callback (Paytrail's payment
-- and settlement reports).

-- Every create-payment attempt, with a stamp of its own (a stamp is never reused), written
-- before the request is sent. An attempt answered is reused by a repeat of the same payment;
-- one whose answer was lost (`unknown`) was never shown to anybody and cannot be paid.
CREATE TABLE paytrail_payments (
    stamp          text PRIMARY KEY,
    payment_id     uuid NOT NULL REFERENCES payments (id),
    amount_cents   integer NOT NULL,
    state          text NOT NULL DEFAULT 'sending'
                   CHECK (state IN ('sending', 'answered', 'unknown', 'refused')),
    transaction_id text UNIQUE,             -- Paytrail's, once it answered
    href           text,                    -- its hosted payment page
    created_at     timestamptz NOT NULL DEFAULT now(),
    answered_at    timestamptz
);
CREATE INDEX paytrail_payments_payment ON paytrail_payments (payment_id, created_at);

-- Every refund asked of Paytrail, by its refundStamp (our refund id), written before the
-- request is sent: one whose answer was lost (`unknown`) is never sent again (that could
-- refund twice); its refund callback, which names the stamp, settles it.
CREATE TABLE paytrail_refunds (
    refund_stamp           text PRIMARY KEY,
    payment_transaction_id text NOT NULL,
    amount_cents           integer NOT NULL CHECK (amount_cents > 0),
    state                  text NOT NULL DEFAULT 'sending'
                           CHECK (state IN ('sending', 'unknown', 'pending', 'ok', 'fail')),
    transaction_id         text UNIQUE,     -- the refund's own Paytrail transaction
    sent_at                timestamptz NOT NULL DEFAULT now(),
    answered_at            timestamptz
);

-- Reports a provider delivers by callback once asked (Paytrail: a period's payments, or the
-- payments of one settlement), as delivered. `rows` NULL: asked, not delivered yet.
CREATE TABLE provider_reports (
    id             uuid PRIMARY KEY,
    provider       text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('period', 'settlement')),
    period_start   timestamptz,
    period_end     timestamptz,
    settlement_ref text,
    requested_at   timestamptz NOT NULL DEFAULT now(),
    received_at    timestamptz,
    rows           jsonb,
    CHECK ((kind = 'period') = (period_start IS NOT NULL AND period_end IS NOT NULL)),
    CHECK ((kind = 'settlement') = (settlement_ref IS NOT NULL))
);
CREATE INDEX provider_reports_of ON provider_reports (provider, kind, period_start, settlement_ref);
