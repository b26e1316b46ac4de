-- The audit trail (schema `audit`): an append-only, hash-chained log.
-- Each entry's hash = sha256(previous entry's hash || canonical JSON of its content)
-- (services/audit/domain/chain.py); entries are appended one at a time under a transaction
-- advisory lock, numbered without gaps. Nobody may change or remove one: UPDATE, DELETE and
-- TRUNCATE are refused by triggers (also for the table's owner), and the privileges are
-- revoked from PUBLIC. A superuser could still disable the triggers: the chain check
-- (audit.v1.verify) then names the first entry that no longer fits.

CREATE TABLE entries (
    seq            bigint PRIMARY KEY CHECK (seq >= 1),
    entry_id       uuid NOT NULL UNIQUE,       -- the recording event's id (a redelivery adds nothing)
    recorded_at    timestamptz NOT NULL,
    service        text NOT NULL,
    action         text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('change', 'view', 'refused', 'event', 'erasure')),
    outcome        text NOT NULL,
    actor          text NOT NULL,              -- staff subject, system:<service>, or p:<pseudonym>
    actor_kind     text NOT NULL,
    actor_roles    text[] NOT NULL DEFAULT '{}',
    object_type    text,
    object_id      text,
    person         text,                       -- pseudonym of the resident concerned
    request_id     text NOT NULL DEFAULT '',
    client_address text,
    before         jsonb,
    after          jsonb,
    changes        jsonb,
    prev_hash      bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash           bytea NOT NULL UNIQUE CHECK (length(hash) = 32)
);
CREATE INDEX entries_actor ON entries (actor, recorded_at);
CREATE INDEX entries_person ON entries (person, recorded_at) WHERE person IS NOT NULL;
CREATE INDEX entries_object ON entries (object_type, object_id, seq) WHERE object_id IS NOT NULL;
CREATE INDEX entries_recorded ON entries (recorded_at);

CREATE FUNCTION entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER entries_no_update BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION entries_append_only();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION entries_append_only();
-- Fire also under session_replication_role = replica (where ordinary triggers do not).
ALTER TABLE entries ENABLE ALWAYS TRIGGER entries_no_update;
ALTER TABLE entries ENABLE ALWAYS TRIGGER entries_no_truncate;
REVOKE UPDATE, DELETE, TRUNCATE ON entries FROM PUBLIC;

-- Each resident's pseudonym key (entries name them only as HMAC(key, subject)). Erasure
-- deletes the key: their entries stay, chained and intact, but name nobody any more.
-- `ref` is itself a keyed hash of the subject (never the subject).
CREATE TABLE person_keys (
    ref        text PRIMARY KEY,
    key        bytea NOT NULL CHECK (length(key) = 32),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The service's own secret for `ref` (made once, by the first process that starts).
CREATE TABLE secrets (
    name  text PRIMARY KEY,
    value bytea NOT NULL
);
