-- A refund the payment provider refused (evt.payment.refund.failed) gave nothing back: the
-- lines it was asked for go back to the state they had when it was asked (kept here), and the
-- request no longer counts as asked (staff may ask again).
ALTER TABLE refund_requests ADD COLUMN line_state text;
ALTER TABLE refund_requests ADD COLUMN failed_at timestamptz;
ALTER TABLE refund_requests ADD COLUMN failure text;
