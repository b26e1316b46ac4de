-- Service desk (issue 19): a reservation a clerk made for a customer (a phone booker or a
-- resident at the desk) is the customer's; `made_by` records the clerk's subject.
ALTER TABLE reservations ADD COLUMN made_by text;
-- Staff find a customer by the contact kept with their reservations.
CREATE INDEX reservation_contacts_name ON reservation_contacts (lower(name) text_pattern_ops);
CREATE INDEX reservation_contacts_email ON reservation_contacts (lower(email)) WHERE email <> '';
CREATE INDEX reservation_contacts_phone ON reservation_contacts (phone) WHERE phone <> '';
