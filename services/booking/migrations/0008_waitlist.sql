-- Waiting list (issue 18): residents queue for a taken time of a resource. When the time
-- frees, the first one waiting is offered a hold of it (`reservation_id`); when they let it
-- lapse or decline it, the next one is. The queue's order is `position`.
CREATE TABLE waitlist_entries (
    id uuid PRIMARY KEY,
    position bigserial NOT NULL,
    resource_id uuid NOT NULL REFERENCES resources (id),
    customer text NOT NULL,                  -- the principal subject: the offer is theirs
    booker jsonb NOT NULL DEFAULT '{}',      -- roles, scopes, home municipality (pricing)
    during tstzrange NOT NULL,
    places int NOT NULL DEFAULT 1 CHECK (places >= 1),
    state text NOT NULL DEFAULT 'waiting' CHECK (state IN
        ('waiting', 'offered', 'accepted', 'declined', 'lapsed', 'left', 'void')),
    reservation_id uuid,                     -- the hold offered (kept after the offer)
    offered_at timestamptz,
    offer_expires_at timestamptz,
    reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (NOT isempty(during)),
    CHECK (state <> 'offered' OR reservation_id IS NOT NULL),
    -- Never two offers for the same time of a resource at once.
    EXCLUDE USING gist (resource_id WITH =, during WITH &&) WHERE (state = 'offered')
);
-- One place in the queue per customer and time.
CREATE UNIQUE INDEX waitlist_once_per_customer ON waitlist_entries (resource_id, customer, during)
    WHERE state IN ('waiting', 'offered');
CREATE UNIQUE INDEX waitlist_offer ON waitlist_entries (reservation_id)
    WHERE reservation_id IS NOT NULL;
CREATE INDEX waitlist_waiting ON waitlist_entries USING gist (resource_id, during)
    WHERE state = 'waiting';
CREATE INDEX waitlist_customer ON waitlist_entries (customer, created_at);
