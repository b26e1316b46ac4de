-- Hosted provider checkouts (a Stripe Checkout Session per payment), free orders, refunds that
-- stay pending until the provider says they succeeded, and disputes (chargebacks).

-- A zero-total order (a free slot, a full discount) is paid without any provider.
ALTER TABLE payments DROP CONSTRAINT payments_amount_cents_check;
ALTER TABLE payments ADD CONSTRAINT payments_amount_cents_check CHECK (amount_cents >= 0);

-- The provider's payment behind its checkout (Stripe: the PaymentIntent of the Checkout
-- Session in provider_ref), learnt from its webhooks: refunds, fees and the balance
-- transactions name it.
ALTER TABLE payments ADD COLUMN provider_payment_ref text;
CREATE UNIQUE INDEX payments_provider_payment_ref ON payments (provider, provider_payment_ref)
    WHERE provider_payment_ref IS NOT NULL;

-- What the provider last said of a refund (Stripe: pending, requires_action, succeeded,
-- failed, canceled); a refund is `succeeded` (in the ledger) only once the provider says so.
ALTER TABLE refunds ADD COLUMN provider_status text;
ALTER TABLE refunds ADD COLUMN checked_at timestamptz;  -- when the provider was last asked
CREATE INDEX refunds_provider_ref ON refunds (provider_ref) WHERE provider_ref IS NOT NULL;

-- A chargeback: the provider takes the disputed money back at once (ledger entries, kind
-- `dispute`); a dispute won gives it back (a positive `dispute` entry). Finance sees each as
-- an anomaly.
CREATE TABLE disputes (
    id           uuid PRIMARY KEY,
    payment_id   uuid NOT NULL REFERENCES payments (id),
    provider     text NOT NULL,
    provider_ref text NOT NULL,               -- du_...
    amount_cents integer NOT NULL CHECK (amount_cents > 0),
    reason       text NOT NULL DEFAULT '',
    status       text NOT NULL,               -- the provider's word (needs_response, won, lost, ...)
    withdrawn    boolean NOT NULL DEFAULT false,
    reinstated   boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, provider_ref)
);
CREATE INDEX disputes_payment ON disputes (payment_id);

ALTER TABLE ledger_entries ADD COLUMN dispute_id uuid REFERENCES disputes (id);
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint
             WHERE conrelid = 'ledger_entries'::regclass AND contype = 'c'
               AND pg_get_constraintdef(oid) LIKE '%kind%'
    LOOP
        EXECUTE format('ALTER TABLE ledger_entries DROP CONSTRAINT %I', c.conname);
    END LOOP;
END $$;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind
    CHECK (kind IN ('sale', 'refund', 'dispute'));
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_source
    CHECK ((kind = 'refund') = (refund_id IS NOT NULL)
           AND (kind = 'dispute') = (dispute_id IS NOT NULL));

-- The local test provider's refunds get the same states (a tester settles a pending one), and
-- a failed refund's money comes back to its balance.
ALTER TABLE local_refunds ADD COLUMN state text NOT NULL DEFAULT 'succeeded'
    CHECK (state IN ('pending', 'succeeded', 'failed'));
ALTER TABLE local_balance_transactions DROP CONSTRAINT local_balance_transactions_type_check;
ALTER TABLE local_balance_transactions ADD CONSTRAINT local_balance_transactions_type_check
    CHECK (type IN ('charge', 'refund', 'refund_failure'));
