-- GIS files are referred to by the id the file store issued, never by a path (issue 14: a
-- product's `ready_file` could name any file on the server, e.g. the token-signing key).
CREATE TABLE gis_files (
    id text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
    file_name text NOT NULL CHECK (file_name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$'),
    size_bytes bigint NOT NULL CHECK (size_bytes > 0),
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    uploaded_by text NOT NULL,
    uploaded_at timestamptz NOT NULL DEFAULT now()
);

-- A path a product named is not trusted: such a product becomes made to order until a GIS
-- clerk uploads its file (the demo data registers its files again at start).
ALTER TABLE gis_products DROP COLUMN ready_file;
ALTER TABLE gis_products ADD COLUMN ready_file text REFERENCES gis_files (id);

-- Entitlements name the file by id; a path stored before this change is never served again
-- (such a download answers that the file is missing: the survey services upload it anew).
ALTER TABLE gis_entitlements ADD COLUMN file_id text REFERENCES gis_files (id);
ALTER TABLE gis_entitlements DROP COLUMN file_path;
