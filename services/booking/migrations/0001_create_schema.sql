-- Booking: units, resources, opening hours, exceptions, prices, reservations.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE units (
    id uuid PRIMARY KEY,
    name jsonb NOT NULL,                -- {"fi": ..., "sv": ..., "en": ...}
    address text NOT NULL DEFAULT '',
    municipality text NOT NULL DEFAULT '853',
    tz text NOT NULL DEFAULT 'Europe/Helsinki',
    merchant_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE resources (
    id uuid PRIMARY KEY,
    unit_id uuid NOT NULL REFERENCES units (id),
    name jsonb NOT NULL,
    kind text NOT NULL CHECK (kind IN ('space', 'equipment', 'appointment')),
    capacity int NOT NULL DEFAULT 1 CHECK (capacity >= 1),
    min_minutes int NOT NULL DEFAULT 30 CHECK (min_minutes > 0),
    max_minutes int NOT NULL DEFAULT 240 CHECK (max_minutes >= min_minutes),
    slot_minutes int NOT NULL DEFAULT 60 CHECK (slot_minutes > 0),
    align_minutes int NOT NULL DEFAULT 30 CHECK (align_minutes > 0),
    buffer_before_minutes int NOT NULL DEFAULT 0 CHECK (buffer_before_minutes >= 0),
    buffer_after_minutes int NOT NULL DEFAULT 0 CHECK (buffer_after_minutes >= 0),
    min_notice_minutes int NOT NULL DEFAULT 0 CHECK (min_notice_minutes >= 0),
    max_days_ahead int NOT NULL DEFAULT 90 CHECK (max_days_ahead > 0),
    needs_approval boolean NOT NULL DEFAULT false,
    who_may_book text NOT NULL DEFAULT 'public'
        CHECK (who_may_book IN ('public', 'residents', 'staff')),
    merchant_id text NOT NULL,
    cost_centre text NOT NULL DEFAULT '',
    allows_multi_day boolean NOT NULL DEFAULT false,
    free_cancel_hours int NOT NULL DEFAULT 24 CHECK (free_cancel_hours >= 0),
    late_refund_percent int NOT NULL DEFAULT 0 CHECK (late_refund_percent BETWEEN 0 AND 100),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX resources_unit ON resources (unit_id);

-- Weekly patterns (weekday 0 = Monday) with validity; unit-wide when resource_id IS NULL.
CREATE TABLE opening_hours (
    id bigserial PRIMARY KEY,
    unit_id uuid NOT NULL REFERENCES units (id),
    resource_id uuid REFERENCES resources (id),
    weekday int NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    opens time NOT NULL,
    closes time NOT NULL,  -- 00:00 means midnight at the end of the day
    valid_from date NOT NULL DEFAULT '2000-01-01',
    valid_until date
);
CREATE INDEX opening_hours_unit ON opening_hours (unit_id);

-- Exceptions for one day: closed (opens IS NULL) or other hours (e.g. shorter).
CREATE TABLE hours_exceptions (
    id bigserial PRIMARY KEY,
    unit_id uuid NOT NULL REFERENCES units (id),
    resource_id uuid REFERENCES resources (id),
    day date NOT NULL,
    opens time,
    closes time,
    reason text NOT NULL DEFAULT ''
);
CREATE INDEX hours_exceptions_unit_day ON hours_exceptions (unit_id, day);

CREATE TABLE price_rules (
    id bigserial PRIMARY KEY,
    resource_id uuid NOT NULL REFERENCES resources (id),
    customer_group text NOT NULL
        CHECK (customer_group IN ('resident', 'other', 'association', 'business')),
    weekdays int[] NOT NULL DEFAULT '{0,1,2,3,4,5,6}',
    from_time time NOT NULL DEFAULT '00:00',
    to_time time NOT NULL DEFAULT '00:00',  -- 00:00 = end of day
    unit text NOT NULL CHECK (unit IN ('hour', 'booking', 'free')),
    amount_cents int NOT NULL DEFAULT 0 CHECK (amount_cents >= 0),
    vat_rate_bp int NOT NULL CHECK (vat_rate_bp >= 0),
    valid_from date NOT NULL DEFAULT '2000-01-01',
    valid_until date
);
CREATE INDEX price_rules_resource ON price_rules (resource_id);

CREATE TABLE reservations (
    id uuid PRIMARY KEY,
    resource_id uuid NOT NULL REFERENCES resources (id),
    unit_id uuid NOT NULL,
    customer text NOT NULL,
    state text NOT NULL CHECK (state IN
        ('requested', 'held', 'confirmed', 'cancelled', 'expired', 'denied', 'released')),
    during tstzrange NOT NULL,   -- what the customer booked
    guarded tstzrange NOT NULL,  -- during plus buffers: what nobody else may overlap
    exclusive boolean NOT NULL,  -- capacity 1: guarded by the exclusion constraint
    places int NOT NULL DEFAULT 1 CHECK (places >= 1),
    expires_at timestamptz,
    gross_cents int NOT NULL DEFAULT 0,
    net_cents int NOT NULL DEFAULT 0,
    vat_cents int NOT NULL DEFAULT 0,
    vat_rate_bp int NOT NULL DEFAULT 0,
    customer_group text NOT NULL DEFAULT 'other',
    merchant_id text NOT NULL,
    cost_centre text NOT NULL DEFAULT '',
    group_id uuid,               -- several resources held together
    series_id uuid,
    order_id uuid,
    reason text,
    sequence int NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (NOT isempty(during)),
    EXCLUDE USING gist (resource_id WITH =, guarded WITH &&)
        WHERE (exclusive AND state IN ('requested', 'held', 'confirmed'))
);
CREATE INDEX reservations_resource_guarded ON reservations USING gist (resource_id, guarded)
    WHERE state IN ('requested', 'held', 'confirmed');
CREATE INDEX reservations_customer ON reservations (customer, lower(during));
CREATE INDEX reservations_expiry ON reservations (expires_at) WHERE state = 'held';
CREATE INDEX reservations_order ON reservations (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX reservations_series ON reservations (series_id) WHERE series_id IS NOT NULL;

CREATE TABLE calendar_tokens (
    token_hash text PRIMARY KEY,
    customer text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
