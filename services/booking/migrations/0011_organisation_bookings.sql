-- Booking on an organisation's behalf (issue 19): the organisation (payment's) a reservation
-- was booked and priced for by one of its contact persons; a season's occurrences name the
-- season's organisation. NULL: booked for the customer themself.
ALTER TABLE reservations ADD COLUMN organisation_id uuid;
UPDATE reservations r SET organisation_id = s.organisation_id
    FROM seasons s WHERE r.series_id = s.id;
