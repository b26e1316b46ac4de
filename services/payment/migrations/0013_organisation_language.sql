-- The language an organisation's invoices are written in: Turku is bilingual, and a
-- Swedish-speaking association is invoiced in Swedish (its season months' lines).
ALTER TABLE organisations ADD COLUMN language text NOT NULL DEFAULT 'fi'
    CHECK (language IN ('fi', 'sv', 'en'));
