-- Lines the cart prices itself (library debits) take their cost centre and VAT code from
-- the merchant that sells them: data, not constants in code. Existing library merchants keep
-- what the code used to hard-wire (cost centre `library`, the 0 % rate of public-law charges).
ALTER TABLE merchants ADD COLUMN cost_centre text NOT NULL DEFAULT '*';
ALTER TABLE merchants ADD COLUMN vat_code text NOT NULL DEFAULT '';
UPDATE merchants SET cost_centre = 'library', vat_code = 'zero'
    WHERE 'library_debit' = ANY (line_kinds);
