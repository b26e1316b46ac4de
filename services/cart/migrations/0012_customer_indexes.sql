-- Residents' data rights (issue 19): a person's carts and download rights are found,
-- exported and pseudonymised by their subject (cart.v1.personal_data / erase_personal_data;
-- orders already have orders_customer).
CREATE INDEX carts_customer ON carts (customer);
CREATE INDEX gis_entitlements_customer ON gis_entitlements (customer);
