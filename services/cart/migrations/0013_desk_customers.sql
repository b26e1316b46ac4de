-- Service desk (issue 19): customers without an online account (phone bookers, walk-ins).
-- The generated subject (`desk:<uuid>`) is used wherever a customer is: reservations, carts,
-- orders, payments. Personal data: found, exported and erased with the customer's subject.
CREATE TABLE desk_customers (
    subject    text PRIMARY KEY CHECK (subject LIKE 'desk:%'),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email      text NOT NULL DEFAULT '' CHECK (length(email) <= 254),
    phone      text NOT NULL DEFAULT '' CHECK (length(phone) <= 40),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (email <> '' OR phone <> '')
);
CREATE INDEX desk_customers_name ON desk_customers (lower(name) text_pattern_ops);
CREATE INDEX desk_customers_email ON desk_customers (lower(email)) WHERE email <> '';
CREATE INDEX desk_customers_phone ON desk_customers (phone) WHERE phone <> '';
