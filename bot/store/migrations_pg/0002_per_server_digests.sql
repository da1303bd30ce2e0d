-- Digest names are unique per server, no longer bot-wide; each server chooses where its announcements go.
-- The same change as the SQLite migration 0003 (see there what it means), made in place: PostgreSQL can
-- change a primary key and a foreign key without rebuilding the tables. This runs inside the migration's
-- transaction: on any error nothing changes.
--
-- A digest is now identified by its `key`: its name for a digest from config.yaml, `<guild id>/<name>` for
-- one created from Discord in that server. `digest_runs.digest` holds the key.

ALTER TABLE digests ADD COLUMN key TEXT;
UPDATE digests
SET key = CASE WHEN source = 'runtime' AND guild_id IS NOT NULL THEN guild_id::text || '/' || name
               ELSE name END;
ALTER TABLE digests ALTER COLUMN key SET NOT NULL;

-- Names were unique before this migration, so each run finds exactly one digest by its name.
ALTER TABLE digest_runs DROP CONSTRAINT digest_runs_digest_fkey;
UPDATE digest_runs r SET digest = d.key FROM digests d WHERE d.name = r.digest AND d.key <> d.name;
ALTER TABLE digests DROP CONSTRAINT digests_pkey;
ALTER TABLE digests ADD CONSTRAINT digests_pkey PRIMARY KEY (key);
ALTER TABLE digest_runs ADD CONSTRAINT digest_runs_digest_fkey
    FOREIGN KEY (digest) REFERENCES digests (key) ON DELETE CASCADE;

DROP INDEX digests_guild;
CREATE INDEX digests_guild ON digests (guild_id, name);

-- `delivered.digest` and `audit_log.target` name digests for people; they keep the names they were written
-- with.

-- Per-server settings chosen from Discord (`/admin settings …`): where the announcements of the server's
-- own digests go. A server without a row has no settings of its own.
CREATE TABLE guild_settings (
    guild_id       BIGINT PRIMARY KEY,
    log_channel_id BIGINT,
    updated_at     TEXT NOT NULL
);
