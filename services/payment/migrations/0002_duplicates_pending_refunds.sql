-- Paid duplicates, provider-side closing, pending fees, refunds written before the provider
-- call (with their exact VAT split), and provider news that did not add up (for staff).

-- A second payment of an already paid order (refunded in full automatically) points at the
-- payment that paid the order; it is not the order's live payment.
ALTER TABLE payments ADD COLUMN duplicate_of uuid REFERENCES payments (id);
-- The provider will take no more money for this payment (its intent was cancelled there).
ALTER TABLE payments ADD COLUMN provider_closed boolean NOT NULL DEFAULT false;
-- Succeeded, but the provider's fee is not known yet (fetched at settlement/reconciliation).
ALTER TABLE payments ADD COLUMN fee_pending boolean NOT NULL DEFAULT false;

DROP INDEX payments_one_live_per_order;
CREATE UNIQUE INDEX payments_one_live_per_order ON payments (order_id)
    WHERE state IN ('created', 'pending', 'succeeded') AND duplicate_of IS NULL;
CREATE INDEX payments_order ON payments (order_id);

-- pending: written, the provider not (yet) known to have refunded; succeeded: in the ledger;
-- failed: the provider refused it (it counts for nothing).
ALTER TABLE refunds ADD COLUMN state text NOT NULL DEFAULT 'succeeded'
    CHECK (state IN ('pending', 'succeeded', 'failed'));
ALTER TABLE refunds ADD COLUMN splits jsonb NOT NULL DEFAULT '[]';  -- [{line_id, gross_cents, vat_cents}]
ALTER TABLE refunds ADD COLUMN failure text;
ALTER TABLE refunds ADD COLUMN completed_at timestamptz;
UPDATE refunds r SET splits = coalesce(
    (SELECT jsonb_agg(jsonb_build_object('line_id', e.line_id, 'gross_cents', -e.gross_cents,
                                         'vat_cents', -e.vat_cents))
     FROM ledger_entries e WHERE e.refund_id = r.id), '[]');
ALTER TABLE refunds ALTER COLUMN state SET DEFAULT 'pending';
CREATE INDEX refunds_payment ON refunds (payment_id);
CREATE INDEX refunds_pending ON refunds (created_at) WHERE state = 'pending';

CREATE TABLE payment_anomalies (
    id          bigserial PRIMARY KEY,
    payment_id  uuid REFERENCES payments (id),
    provider    text NOT NULL,
    event_id    text NOT NULL,
    kind        text NOT NULL,                -- amount_mismatch
    details     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, event_id, kind)
);
