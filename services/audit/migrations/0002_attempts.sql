-- Write-ahead records of changes (shared/audit_trail.py, AuditTrail.before): an `attempt` is
-- recorded before a staff member's or a system's change runs, its outcome after it.
ALTER TABLE entries DROP CONSTRAINT entries_kind_check;
ALTER TABLE entries ADD CONSTRAINT entries_kind_check
    CHECK (kind IN ('attempt', 'change', 'view', 'refused', 'event', 'erasure'));
