-- Orders as notify learns them from cart's events (created, paid): whose each is and what its
-- lines are, so that a refund (payment's event names only the order and its lines) reaches
-- the buyer, in their language, naming what was refunded.
CREATE TABLE orders (
    order_id     uuid PRIMARY KEY,
    order_number text NOT NULL,
    customer     text NOT NULL,
    lines        jsonb NOT NULL,   -- {"<line_id>": {"merchant_id": ..., "description": ...}}
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_of_customer ON orders (customer);
