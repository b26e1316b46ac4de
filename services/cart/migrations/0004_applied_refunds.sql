-- Each refund of payment is applied to a line once, whatever event carries it (a refund
-- announced again under another event id adds nothing).
CREATE TABLE applied_refunds (
    refund_id uuid NOT NULL,
    line_id uuid NOT NULL REFERENCES order_lines (id),
    amount_cents integer NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (refund_id, line_id)
);
