-- A registration whose line was refunded before it was recorded is stopped: no library
-- credit for money given back.
ALTER TABLE library_registrations DROP CONSTRAINT library_registrations_state_check;
ALTER TABLE library_registrations ADD CONSTRAINT library_registrations_state_check
    CHECK (state IN ('pending', 'recorded', 'registration_failed', 'resolved_by_hand',
        'expired', 'cancelled'));
