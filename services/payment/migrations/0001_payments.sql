-- Payments, provider webhooks, refunds, the ledger and ERP export runs (schema `payment`).

CREATE TABLE payments (
    id               uuid PRIMARY KEY,
    order_id         uuid NOT NULL,
    order_number     text NOT NULL,
    customer         text NOT NULL,
    amount_cents     integer NOT NULL CHECK (amount_cents > 0),
    currency         text NOT NULL DEFAULT 'EUR' CHECK (currency = 'EUR'),
    provider         text NOT NULL,
    provider_ref     text,
    state            text NOT NULL CHECK (state IN
                         ('created', 'pending', 'succeeded', 'failed', 'cancelled', 'expired')),
    failure_reason   text,
    redirect_url     text,
    client_secret    text,
    sale_date        date NOT NULL,
    payment_deadline timestamptz NOT NULL,
    lines            jsonb NOT NULL,           -- the order's line snapshots (OrderLineSnapshot)
    fee_cents        integer NOT NULL DEFAULT 0,
    paid_after_expiry boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    paid_at          timestamptz
);
-- At most one live payment per order (a declined one may be followed by a new attempt).
CREATE UNIQUE INDEX payments_one_live_per_order ON payments (order_id)
    WHERE state IN ('created', 'pending', 'succeeded');
CREATE UNIQUE INDEX payments_provider_ref ON payments (provider, provider_ref);
CREATE INDEX payments_open_deadline ON payments (payment_deadline)
    WHERE state IN ('created', 'pending');

CREATE TABLE payment_transitions (
    id          bigserial PRIMARY KEY,
    payment_id  uuid NOT NULL REFERENCES payments (id),
    from_state  text NOT NULL,
    to_state    text NOT NULL,
    cause       text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE provider_webhooks (
    provider     text NOT NULL,
    event_id     text NOT NULL,
    event_type   text NOT NULL,
    provider_ref text,
    outcome      text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id)
);

CREATE TABLE refunds (
    id                uuid PRIMARY KEY,
    payment_id        uuid NOT NULL REFERENCES payments (id),
    refund_request_id uuid NOT NULL UNIQUE,
    amount_cents      integer NOT NULL CHECK (amount_cents > 0),
    lines             jsonb NOT NULL,         -- [{line_id, amount_cents}]
    reason            text NOT NULL,
    note              text NOT NULL DEFAULT '',
    actor             text NOT NULL,
    provider_ref      text,
    created_at        timestamptz NOT NULL DEFAULT now()
);

-- One row per (payment or refund) x order line: what the provider moved, split for finance.
CREATE TABLE ledger_entries (
    id             bigserial PRIMARY KEY,
    payment_id     uuid NOT NULL REFERENCES payments (id),
    refund_id      uuid REFERENCES refunds (id),
    kind           text NOT NULL CHECK (kind IN ('sale', 'refund')),
    booked_on      date NOT NULL,             -- Europe/Helsinki day the money moved
    sale_date      date NOT NULL,
    line_id        uuid NOT NULL,
    merchant_id    text NOT NULL,
    cost_centre    text NOT NULL,
    vat_rate_bp    integer NOT NULL,
    gross_cents    integer NOT NULL,
    vat_cents      integer NOT NULL,
    net_cents      integer NOT NULL,
    company_code   text NOT NULL,
    gl_account     text NOT NULL,
    profit_centre  text NOT NULL,
    internal_order text NOT NULL DEFAULT '',
    vat_code       text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (gross_cents = vat_cents + net_cents),
    CHECK ((kind = 'sale') = (refund_id IS NULL))
);
CREATE INDEX ledger_entries_day ON ledger_entries (booked_on, merchant_id);
CREATE INDEX ledger_entries_payment ON ledger_entries (payment_id);

CREATE TABLE erp_exports (
    day         date NOT NULL,
    run         integer NOT NULL,
    content     text NOT NULL,
    sha256      text NOT NULL,
    actor       text NOT NULL,
    reexport    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, run)
);

-- The local test provider's own books (what a real provider would keep on its side).
CREATE TABLE local_charges (
    id           text PRIMARY KEY,             -- lch_...
    payment_id   uuid NOT NULL UNIQUE,
    amount_cents integer NOT NULL,
    state        text NOT NULL CHECK (state IN ('open', 'paid', 'declined', 'abandoned', 'cancelled')),
    idempotency_key text NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE local_balance_transactions (
    id           text PRIMARY KEY,             -- ltxn_...
    type         text NOT NULL CHECK (type IN ('charge', 'refund')),
    source       text NOT NULL,                -- charge id or refund id
    amount_cents integer NOT NULL,
    fee_cents    integer NOT NULL,
    net_cents    integer NOT NULL,
    created      timestamptz NOT NULL DEFAULT now(),
    payout_id    text
);
CREATE INDEX local_balance_transactions_created ON local_balance_transactions (created);

CREATE TABLE local_refunds (
    id              text PRIMARY KEY,          -- lre_...
    charge_id       text NOT NULL REFERENCES local_charges (id),
    amount_cents    integer NOT NULL,
    idempotency_key text NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE local_payouts (
    id            text PRIMARY KEY,            -- lpo_YYYYMMDD
    day           date NOT NULL UNIQUE,
    amount_cents  integer NOT NULL,
    arrival_date  date NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
