-- The cart service's schema: merchants, accounting data, VAT rates, carts, orders,
-- library registrations, the GIS catalogue and download entitlements.

CREATE TABLE merchants (
    id text PRIMARY KEY,
    name_fi text NOT NULL,
    name_sv text,
    name_en text,
    business_id text NOT NULL,
    line_kinds text[] NOT NULL DEFAULT '{}',
    active boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE vat_rates (
    code text NOT NULL,
    rate_bp integer NOT NULL CHECK (rate_bp >= 0 AND rate_bp < 10000),
    valid_from date NOT NULL,
    valid_to date,
    description text NOT NULL DEFAULT '',
    PRIMARY KEY (code, valid_from)
);

-- SAP dimensions per merchant + cost centre (+ product, '' = any), valid for a date range.
CREATE TABLE accounting_dimensions (
    id bigserial PRIMARY KEY,
    merchant_id text NOT NULL REFERENCES merchants (id),
    cost_centre text NOT NULL,
    product text NOT NULL DEFAULT '',
    valid_from date NOT NULL,
    valid_to date,
    company_code text NOT NULL,
    sales_organisation text NOT NULL DEFAULT '',
    gl_account text NOT NULL,
    profit_centre text NOT NULL,
    internal_order text NOT NULL DEFAULT '',
    vat_code text NOT NULL,
    UNIQUE (merchant_id, cost_centre, product, valid_from)
);

CREATE TABLE carts (
    id uuid PRIMARY KEY,
    customer text NOT NULL,
    state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'checked_out')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX carts_one_open_per_customer ON carts (customer) WHERE state = 'open';

CREATE TABLE cart_lines (
    id uuid PRIMARY KEY,
    cart_id uuid NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('reservation', 'library_debit', 'gis_product')),
    reference text NOT NULL,
    description text NOT NULL,
    merchant_id text NOT NULL,
    cost_centre text NOT NULL,
    quantity integer NOT NULL DEFAULT 1,
    gross_cents integer NOT NULL CHECK (gross_cents >= 0),
    net_cents integer NOT NULL,
    vat_cents integer NOT NULL,
    vat_rate_bp integer NOT NULL,
    details jsonb NOT NULL DEFAULT '{}',
    added_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (cart_id, kind, reference)
);

-- What the resident should see: lines that disappeared, balances that changed.
CREATE TABLE cart_messages (
    id bigserial PRIMARY KEY,
    customer text NOT NULL,
    code text NOT NULL,
    message text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    seen_at timestamptz
);
CREATE INDEX cart_messages_customer ON cart_messages (customer) WHERE seen_at IS NULL;

CREATE SEQUENCE order_number_seq;

CREATE TABLE orders (
    id uuid PRIMARY KEY,
    cart_id uuid NOT NULL UNIQUE REFERENCES carts (id),  -- one cart, one order
    order_number text NOT NULL UNIQUE,
    reference_number text NOT NULL UNIQUE,
    rf_reference text NOT NULL,
    customer text NOT NULL,
    state text NOT NULL CHECK (state IN ('awaiting_payment', 'paid', 'fulfilled',
        'partially_refunded', 'refunded', 'cancelled')),
    total_cents integer NOT NULL,
    sale_date date NOT NULL,
    payment_deadline timestamptz NOT NULL,
    payment_id uuid,
    payment_provider text,
    paid_at timestamptz,
    fulfilled_at timestamptz,
    cancelled_at timestamptz,
    cancel_reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer ON orders (customer, created_at DESC);
CREATE INDEX orders_unpaid ON orders (payment_deadline) WHERE state = 'awaiting_payment';

CREATE TABLE order_lines (
    id uuid PRIMARY KEY,
    order_id uuid NOT NULL REFERENCES orders (id),
    position integer NOT NULL,
    kind text NOT NULL,
    reference text NOT NULL,
    snapshot jsonb NOT NULL,  -- OrderLineSnapshot, frozen at checkout
    details jsonb NOT NULL DEFAULT '{}',
    state text NOT NULL DEFAULT 'pending',
    refunded_cents integer NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (order_id, position)
);
CREATE INDEX order_lines_reference ON order_lines (kind, reference);

CREATE TABLE refund_requests (
    id uuid NOT NULL,
    order_id uuid NOT NULL REFERENCES orders (id),
    line_id uuid NOT NULL REFERENCES order_lines (id),
    amount_cents integer NOT NULL CHECK (amount_cents > 0),
    reason text NOT NULL,
    note text NOT NULL DEFAULT '',
    requested_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, line_id)
);
-- One automatic refund per line and reason (a redelivered event cannot ask twice).
CREATE UNIQUE INDEX refund_requests_once ON refund_requests (line_id, reason)
    WHERE reason <> 'staff';

-- Library --------------------------------------------------------------------------------
CREATE TABLE library_cards (
    customer text PRIMARY KEY,
    patron_id text NOT NULL,
    card_last4 text NOT NULL,
    linked_at timestamptz NOT NULL DEFAULT now()
);

-- The registration lock: one row per paid library line; recorded exactly once.
CREATE TABLE library_registrations (
    line_id uuid PRIMARY KEY REFERENCES order_lines (id),
    order_id uuid NOT NULL REFERENCES orders (id),
    order_number text NOT NULL,
    patron_id text NOT NULL,
    account_line_ids bigint[] NOT NULL,
    amount_cents integer NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'recorded',
        'registration_failed', 'resolved_by_hand', 'expired')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_until timestamptz,
    last_error text,
    credit_id text,
    failed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX library_registrations_due ON library_registrations (next_attempt_at)
    WHERE state = 'pending';

CREATE TABLE library_event_log (
    id bigserial PRIMARY KEY,
    line_id uuid NOT NULL,
    step text NOT NULL,
    detail text NOT NULL DEFAULT '',
    actor text NOT NULL DEFAULT 'system',
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX library_event_log_line ON library_event_log (line_id, id);

-- GIS shop -------------------------------------------------------------------------------
CREATE TABLE gis_products (
    id text PRIMARY KEY,
    name_fi text NOT NULL,
    name_sv text,
    name_en text,
    description text NOT NULL DEFAULT '',
    formats text[] NOT NULL,
    coordinate_systems text[] NOT NULL DEFAULT '{ETRS-GK23}',
    licences jsonb NOT NULL,          -- [{"type": "CC BY 4.0", "period_months": null}]
    pricing jsonb NOT NULL,           -- {"kind": "fixed", "unit_cents": ...} | {"kind": "area", ...}
    vat_code text NOT NULL DEFAULT 'general',
    cost_centre text NOT NULL,
    ready_file text,                  -- a file in the storage dir; NULL: made to order
    active boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE gis_entitlements (
    id uuid PRIMARY KEY,
    line_id uuid NOT NULL REFERENCES order_lines (id),
    order_id uuid NOT NULL REFERENCES orders (id),
    customer text NOT NULL,
    file_name text NOT NULL,
    file_path text NOT NULL,
    expires_at timestamptz NOT NULL,
    max_downloads integer NOT NULL,
    downloads integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX gis_entitlements_line ON gis_entitlements (line_id);
