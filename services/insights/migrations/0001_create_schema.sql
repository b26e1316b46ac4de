-- The insights service's own copy of what the figures need, built from other services' events
-- (it never reads their tables). No personal data: no customer ids, names or addresses.

CREATE TABLE units (
    unit_id uuid PRIMARY KEY,
    name text NOT NULL,
    merchant_id text NOT NULL,
    tz text NOT NULL DEFAULT 'Europe/Helsinki',
    updated_at timestamptz NOT NULL
);

CREATE TABLE resources (
    resource_id uuid PRIMARY KEY,
    unit_id uuid NOT NULL,
    name text NOT NULL,
    merchant_id text NOT NULL,
    capacity int NOT NULL DEFAULT 1 CHECK (capacity >= 1),
    active boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL
);
CREATE INDEX resources_merchant ON resources (merchant_id);
CREATE INDEX resources_unit ON resources (unit_id);

-- Weekly opening hours as booking.v1.set_hours left them (resource_id NULL: the unit's).
CREATE TABLE weekly_hours (
    id bigserial PRIMARY KEY,
    unit_id uuid NOT NULL,
    resource_id uuid,
    weekday smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    opens time NOT NULL,
    closes time NOT NULL,  -- 00:00 = midnight at the end of the day
    valid_from date NOT NULL,
    valid_until date
);
CREATE INDEX weekly_hours_unit ON weekly_hours (unit_id, resource_id);

-- Closures: on these days the weekly hours do not apply; the place is closed (opens NULL) or
-- open only opens..closes. A resource's own replaces its unit's on the same day.
CREATE TABLE day_exceptions (
    closure_id uuid NOT NULL,
    unit_id uuid NOT NULL,
    resource_id uuid,
    day date NOT NULL,
    opens time,
    closes time
);
CREATE INDEX day_exceptions_unit_day ON day_exceptions (unit_id, day);
CREATE INDEX day_exceptions_closure ON day_exceptions (closure_id);

-- Each reservation's latest known state (`sequence`: booking's change counter; an older
-- announcement arriving late changes nothing).
CREATE TABLE reservations (
    reservation_id uuid PRIMARY KEY,
    resource_id uuid NOT NULL,
    unit_id uuid NOT NULL,
    merchant_id text NOT NULL,
    customer_group text NOT NULL DEFAULT 'unknown',
    state text NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    places int NOT NULL DEFAULT 1,
    gross_cents bigint NOT NULL DEFAULT 0,
    no_show boolean NOT NULL DEFAULT false,
    was_confirmed boolean NOT NULL DEFAULT false,  -- confirmed at some point (a cancellation counts)
    sequence int NOT NULL DEFAULT 0,
    local_day date NOT NULL,  -- the day it starts on in its unit's zone
    updated_at timestamptz NOT NULL
);
CREATE INDEX reservations_local_day ON reservations (local_day);
CREATE INDEX reservations_resource ON reservations (resource_id, local_day);

-- The booked time of each confirmed reservation by local hour (wall clock in its unit's zone),
-- weighted by its share of the resource (places / capacity when it was confirmed): rewritten
-- whenever the reservation changes, so the figures of a period are sums over days.
CREATE TABLE booked_cells (
    reservation_id uuid NOT NULL,
    resource_id uuid NOT NULL,
    unit_id uuid NOT NULL,
    merchant_id text NOT NULL,
    customer_group text NOT NULL,
    day date NOT NULL,
    weekday smallint NOT NULL,  -- 0 = Monday
    hour smallint NOT NULL,
    minutes float8 NOT NULL
);
CREATE INDEX booked_cells_day ON booked_cells (day);
CREATE INDEX booked_cells_reservation ON booked_cells (reservation_id);

-- Money: paid order lines (cart) and refunds of them (payment), each at its own time.
CREATE TABLE paid_lines (
    line_id uuid PRIMARY KEY,
    order_id uuid NOT NULL,
    merchant_id text NOT NULL,
    kind text NOT NULL,
    reference text NOT NULL,  -- the reservation id of a reservation line
    gross_cents bigint NOT NULL,
    paid_at timestamptz NOT NULL,
    local_day date NOT NULL  -- in Turku
);
CREATE INDEX paid_lines_local_day ON paid_lines (local_day);

CREATE TABLE refunds (
    refund_id uuid NOT NULL,
    line_id uuid NOT NULL,
    amount_cents bigint NOT NULL,
    refunded_at timestamptz NOT NULL,
    local_day date NOT NULL,  -- in Turku
    PRIMARY KEY (refund_id, line_id)
);
CREATE INDEX refunds_local_day ON refunds (local_day);
