-- Finance settles the anomalies staff are shown (who, when, and what was done about them).
ALTER TABLE payment_anomalies ADD COLUMN resolved_at timestamptz;
ALTER TABLE payment_anomalies ADD COLUMN resolved_by text;
ALTER TABLE payment_anomalies ADD COLUMN resolution text;
ALTER TABLE payment_anomalies ADD CONSTRAINT payment_anomalies_resolved_whole
    CHECK ((resolved_at IS NULL) = (resolved_by IS NULL)
           AND (resolved_at IS NULL) = (resolution IS NULL));
CREATE INDEX payment_anomalies_unresolved ON payment_anomalies (created_at DESC, id DESC)
    WHERE resolved_at IS NULL;
