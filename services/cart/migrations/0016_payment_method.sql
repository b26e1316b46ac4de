-- How the order's payment was paid where its provider does not say it (the service desk:
-- card or cash, from evt.payment.payment.succeeded's `method`), for the receipt.
ALTER TABLE orders ADD COLUMN payment_method text;
