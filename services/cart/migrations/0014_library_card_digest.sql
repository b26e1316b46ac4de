-- The service desk finds a customer by library card number (issue 19): a keyed hash
-- (HMAC-SHA256 under CART_LIBRARY_CARD_KEY) of the card number linked, never the number.
-- Cards linked before have none until linked again.
ALTER TABLE library_cards ADD COLUMN card_digest bytea;
CREATE INDEX library_cards_card_digest ON library_cards (card_digest)
    WHERE card_digest IS NOT NULL;
