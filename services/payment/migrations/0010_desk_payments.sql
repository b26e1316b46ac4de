-- Service desk (issue 19): payments taken at a service point (provider `desk`, cash or the
-- card terminal) record the clerk and the register; payment links let a customer pay an order
-- a clerk made for them with the online providers, without signing in.
ALTER TABLE payments ADD COLUMN clerk text;
ALTER TABLE payments ADD COLUMN register_id text;
ALTER TABLE payments ADD COLUMN desk_method text CHECK (desk_method IN ('cash', 'card'));

CREATE TABLE payment_links (
    token_sha256 bytea PRIMARY KEY,          -- the token itself is shown once, in the link
    order_id     uuid NOT NULL,
    customer     text NOT NULL,
    created_by   text NOT NULL,
    expires_at   timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_links_order ON payment_links (order_id);
