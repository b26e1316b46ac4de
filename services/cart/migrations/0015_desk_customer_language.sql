-- The language a desk customer's mails and SMS are written in (the clerk asks; Finnish when
-- not asked, as before).
ALTER TABLE desk_customers
    ADD COLUMN language text NOT NULL DEFAULT 'fi' CHECK (language IN ('fi', 'sv', 'en'));
