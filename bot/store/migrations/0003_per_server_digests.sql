-- Digest names are unique per server, no longer bot-wide; each server chooses where its announcements go;
-- stored URLs never keep credentials.
--
-- A digest is now identified by its `key`: its name for a digest from config.yaml (names are unique among
-- config digests), `<guild id>/<name>` for one created from Discord in that server. `digest_runs.digest`
-- holds the key. SQLite cannot change a primary key or a foreign key in place, so the three linked tables
-- are rebuilt: new tables are filled from the old ones, the old ones dropped children first (so no
-- ON DELETE CASCADE fires on a row that is kept), then the new ones take the old names (renaming a table
-- rewrites the foreign keys that name it). This runs inside the migration's transaction: on any error
-- nothing changes.

PRAGMA legacy_alter_table = OFF;

CREATE TABLE digests_new (
    key               TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    guild_id          INTEGER,
    channel_id        INTEGER NOT NULL,
    source            TEXT NOT NULL CHECK (source IN ('config', 'runtime')),
    settings          TEXT NOT NULL,
    watermark         INTEGER NOT NULL,
    created_at        TEXT NOT NULL,
    schedule_from     TEXT NOT NULL,
    last_checked      TEXT NOT NULL,
    paused_reason     TEXT,
    paused_at         TEXT,
    first_run_claimed INTEGER NOT NULL DEFAULT 0 CHECK (first_run_claimed IN (0, 1))
);
INSERT INTO digests_new (key, name, guild_id, channel_id, source, settings, watermark, created_at,
                         schedule_from, last_checked, paused_reason, paused_at, first_run_claimed)
SELECT CASE WHEN source = 'runtime' AND guild_id IS NOT NULL THEN guild_id || '/' || name ELSE name END,
       name, guild_id, channel_id, source, settings, watermark, created_at, schedule_from, last_checked,
       paused_reason, paused_at, first_run_claimed
FROM digests;

CREATE TABLE digest_runs_new (
    id            INTEGER PRIMARY KEY,
    digest        TEXT NOT NULL REFERENCES digests_new (key) ON DELETE CASCADE,
    slot_key      TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('scheduled', 'manual', 'skipped')),
    fire_time     TEXT,
    claimed_at    TEXT NOT NULL,
    status        TEXT NOT NULL
                  CHECK (status IN ('pending', 'posted', 'partial', 'empty', 'skipped', 'failed', 'paused')),
    plan          TEXT,
    error         TEXT,
    skipped_first TEXT,
    skipped_last  TEXT,
    skipped_count INTEGER,
    thread_id     INTEGER,
    finished_at   TEXT,
    UNIQUE (digest, slot_key)
);
-- Names were unique before this migration, so each run finds exactly one digest by its name.
INSERT INTO digest_runs_new (id, digest, slot_key, kind, fire_time, claimed_at, status, plan, error,
                             skipped_first, skipped_last, skipped_count, thread_id, finished_at)
SELECT r.id, d.key, r.slot_key, r.kind, r.fire_time, r.claimed_at, r.status, r.plan, r.error,
       r.skipped_first, r.skipped_last, r.skipped_count, r.thread_id, r.finished_at
FROM digest_runs r JOIN digests_new d ON d.name = r.digest;

CREATE TABLE run_messages_new (
    run_id         INTEGER NOT NULL REFERENCES digest_runs_new (id) ON DELETE CASCADE,
    part           INTEGER NOT NULL,
    payload        TEXT NOT NULL,
    article_ids    TEXT NOT NULL DEFAULT '[]',
    delivered_urls TEXT NOT NULL DEFAULT '[]',
    in_thread      INTEGER NOT NULL DEFAULT 0,
    message_id     INTEGER,
    channel_id     INTEGER,
    sent_at        TEXT,
    PRIMARY KEY (run_id, part)
) WITHOUT ROWID;
INSERT INTO run_messages_new SELECT run_id, part, payload, article_ids, delivered_urls, in_thread, message_id,
                                    channel_id, sent_at
FROM run_messages;

DROP TABLE run_messages;
DROP TABLE digest_runs;
DROP TABLE digests;
ALTER TABLE digests_new RENAME TO digests;
ALTER TABLE digest_runs_new RENAME TO digest_runs;
ALTER TABLE run_messages_new RENAME TO run_messages;

CREATE INDEX digests_guild ON digests (guild_id, name);
CREATE INDEX digests_channel ON digests (channel_id);
CREATE INDEX digest_runs_status ON digest_runs (digest, status);
CREATE INDEX digest_runs_claimed ON digest_runs (claimed_at);

-- `delivered.digest` and `audit_log.target` name digests for people; they keep the names they were written
-- with (the delivered record is per channel, so one server's names never meet another's there).

-- Per-server settings chosen from Discord (`/admin settings …`): where the announcements of the server's
-- own digests go. A server without a row has no settings of its own.
CREATE TABLE guild_settings (
    guild_id       INTEGER PRIMARY KEY,
    log_channel_id INTEGER,
    updated_at     TEXT NOT NULL
);

-- Every file is parsed again by the next load (its hash no longer matches), so URLs stored with
-- credentials (`user:pass@`) before are rewritten without them.
UPDATE files SET hash = '';
