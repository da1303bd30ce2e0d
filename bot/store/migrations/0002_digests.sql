-- Digests: their definitions, the ledger of runs (one row per slot, claimed exactly once), the messages
-- each run posts, the per-channel record of delivered URLs, and the audit log of changes made from Discord.
--
-- Timestamps here are ISO 8601 text in UTC (`YYYY-MM-DDTHH:MM:SS.ffffff+00:00`), which sorts by time.

-- A digest from config.yaml (`source` 'config', created the first time the running bot sees it) or made
-- from Discord ('runtime'). `settings` is DigestSettings.as_mapping() as JSON. `watermark` is the load
-- sequence at creation (articles first seen after it are new). Slots count from `schedule_from` (creation
-- or the last schedule change); `last_checked` is where the next look for due slots starts.
CREATE TABLE digests (
    name              TEXT PRIMARY KEY,
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
CREATE INDEX digests_guild ON digests (guild_id);
CREATE INDEX digests_channel ON digests (channel_id);

-- One row per slot of a digest, inserted when the slot is claimed (so a slot runs at most once), or one
-- row summarising skipped slots (`kind` 'skipped': first, last, count). `plan` is the run's plan header
-- as JSON; its messages live in `run_messages`.
CREATE TABLE digest_runs (
    id            INTEGER PRIMARY KEY,
    digest        TEXT NOT NULL REFERENCES digests (name) ON DELETE CASCADE,
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
CREATE INDEX digest_runs_status ON digest_runs (digest, status);
CREATE INDEX digest_runs_claimed ON digest_runs (claimed_at);

-- The planned messages of a run, in order (`part` from 1): the exact payload, the article ids it leads
-- with and the canonical URLs it shows. `message_id` and `sent_at` are set once Discord confirms it.
CREATE TABLE run_messages (
    run_id         INTEGER NOT NULL REFERENCES digest_runs (id) ON DELETE CASCADE,
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

-- Every canonical URL posted to a channel, by whichever digest: never posted there again as a lead.
-- Kept forever (no foreign keys: it outlives digests and their runs).
CREATE TABLE delivered (
    channel_id   INTEGER NOT NULL,
    url          TEXT NOT NULL,
    delivered_at TEXT NOT NULL,
    digest       TEXT NOT NULL,
    run_id       INTEGER,
    PRIMARY KEY (channel_id, url)
) WITHOUT ROWID;

-- Who changed what from Discord, with the state before and after (JSON) and how it ended.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    actor_id INTEGER,
    guild_id INTEGER,
    action   TEXT NOT NULL,
    target   TEXT,
    before   TEXT,
    after    TEXT,
    outcome  TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_guild ON audit_log (guild_id, at);
