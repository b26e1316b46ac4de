-- Who to contact about a reservation and what it is for (issue 17): staff deciding on a request
-- see the applicant and the purpose, the clerk's day shows whom to call. Personal data: kept
-- only with the reservation (deleted with it), never in events or logs.
CREATE TABLE reservation_contacts (
    reservation_id uuid PRIMARY KEY REFERENCES reservations (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email text NOT NULL DEFAULT '' CHECK (length(email) <= 254),
    phone text NOT NULL DEFAULT '' CHECK (length(phone) <= 40),
    purpose text NOT NULL DEFAULT '' CHECK (length(purpose) <= 500),
    created_at timestamptz NOT NULL DEFAULT now()
);
