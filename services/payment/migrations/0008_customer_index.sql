-- Residents' data rights (issue 19): a person's payments are found, exported and
-- pseudonymised by their subject (payment.v1.personal_data / erase_personal_data).
CREATE INDEX payments_customer ON payments (customer);
