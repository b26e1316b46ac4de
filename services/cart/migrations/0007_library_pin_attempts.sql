-- Library PIN attempts, counted per card and per client address (both as pseudonyms: a
-- hash, never the card number or the address), shared by every replica of the cart. A row
-- is locked while an attempt is admitted, so a burst cannot pass more attempts than allowed.
CREATE TABLE library_pin_attempts (
    kind text NOT NULL CHECK (kind IN ('card', 'address')),
    key text NOT NULL,
    failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    lockouts integer NOT NULL DEFAULT 0 CHECK (lockouts >= 0),
    locked_until timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, key)
);
CREATE INDEX library_pin_attempts_updated ON library_pin_attempts (updated_at);
