-- Organisations as customers and their invoices (issue 19).

CREATE TABLE organisations (
    id                  uuid PRIMARY KEY,
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    business_id         text NOT NULL UNIQUE,         -- Y-tunnus, standard form 1234567-8
    customer_group      text NOT NULL CHECK (customer_group IN ('association', 'school', 'company')),
    billing_address     jsonb NOT NULL,               -- {street, postal_code, city, country}
    einvoice_address    text NOT NULL DEFAULT '',     -- OVT code or IBAN; empty: by post
    einvoice_operator   text NOT NULL DEFAULT '',     -- the intermediator's id
    contact_persons     text[] NOT NULL DEFAULT '{}', -- principal subjects who may book for it
    created_by          text NOT NULL,
    updated_by          text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX organisations_contact_persons ON organisations USING gin (contact_persons);

CREATE SEQUENCE invoice_numbers START 1;

-- An invoice is the payment (provider `invoice`) of an invoiced order; a credit note is a
-- negative invoice naming the original, issued for a refund (`refund_id`) of it.
CREATE TABLE invoices (
    id                  uuid PRIMARY KEY,
    number              bigint NOT NULL UNIQUE,
    kind                text NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    credits             uuid REFERENCES invoices (id),
    payment_id          uuid NOT NULL REFERENCES payments (id),
    refund_id           uuid UNIQUE REFERENCES refunds (id),
    order_id            uuid NOT NULL,
    order_number        text NOT NULL,
    organisation_id     uuid NOT NULL REFERENCES organisations (id),
    customer            jsonb NOT NULL,               -- the organisation as invoiced
    issued_by           text NOT NULL,                -- who had it invoiced
    reference_number    text NOT NULL UNIQUE,
    invoice_date        date NOT NULL,
    due_date            date NOT NULL,
    payment_terms_days  integer NOT NULL,
    amount_cents        integer NOT NULL,
    vat_cents           integer NOT NULL,
    lines               jsonb NOT NULL,               -- InvoiceLine, with VAT and SAP dimensions
    state               text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'paid', 'credited')),
    paid_on             date,
    paid_cents          integer,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'invoice') = (credits IS NULL)),
    CHECK ((kind = 'invoice') = (refund_id IS NULL)),
    CHECK ((kind = 'invoice' AND amount_cents > 0) OR (kind = 'credit_note' AND amount_cents < 0)),
    CHECK ((state = 'paid') = (paid_on IS NOT NULL))
);
CREATE UNIQUE INDEX invoices_one_per_payment ON invoices (payment_id) WHERE kind = 'invoice';
CREATE INDEX invoices_open_due ON invoices (due_date) WHERE state = 'open' AND kind = 'invoice';
CREATE INDEX invoices_credits ON invoices (credits) WHERE credits IS NOT NULL;
CREATE INDEX invoices_day ON invoices (invoice_date);
CREATE INDEX invoices_organisation ON invoices (organisation_id);
