-- Warren's database schema, version 8 (the latest; src/store/mod.rs holds the
-- steps that bring an older database here).
--
-- Conventions: ids are lowercase hyphenated UUID text (API key ids are Coder's
-- 10-character key ids); times are INTEGER microseconds since the Unix epoch,
-- UTC (Coder's precision); booleans are 0/1; small lists and maps that are only
-- ever read whole are JSON text. Soft deletion keeps rows that other rows point
-- at (builds keep their initiator, workspaces their template).
--
-- Applied once to an empty database inside one transaction. Every change adds
-- a numbered migration in src/store/mod.rs, edits this file to match, and
-- bumps PRAGMA user_version.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE users (
    id                 TEXT PRIMARY KEY,
    username           TEXT NOT NULL,
    email              TEXT NOT NULL,
    name               TEXT NOT NULL DEFAULT '',
    avatar_url         TEXT NOT NULL DEFAULT '',
    hashed_password    TEXT NOT NULL DEFAULT '',
    login_type         TEXT NOT NULL,
    status             TEXT NOT NULL,
    rbac_roles         TEXT NOT NULL DEFAULT '[]',
    is_service_account INTEGER NOT NULL DEFAULT 0,
    theme_preference   TEXT NOT NULL DEFAULT '',
    quiet_hours_schedule TEXT NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    last_seen_at       INTEGER,
    deleted            INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX users_username_idx ON users (lower(username)) WHERE deleted = 0;
CREATE UNIQUE INDEX users_email_idx ON users (lower(email)) WHERE deleted = 0 AND email <> '';

CREATE TABLE user_ssh_keys (
    user_id     TEXT PRIMARY KEY REFERENCES users (id),
    private_key TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id               TEXT PRIMARY KEY,
    hashed_secret    BLOB NOT NULL,
    user_id          TEXT NOT NULL REFERENCES users (id),
    login_type       TEXT NOT NULL,
    scopes           TEXT NOT NULL DEFAULT '["coder:all"]',
    allow_list       TEXT NOT NULL DEFAULT '[{"type":"*","id":"*"}]',
    token_name       TEXT NOT NULL DEFAULT '',
    lifetime_seconds INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    last_used        INTEGER,
    ip_address       TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);
CREATE UNIQUE INDEX api_keys_token_name_idx ON api_keys (user_id, token_name) WHERE login_type = 'token';

CREATE TABLE organizations (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    icon         TEXT NOT NULL DEFAULT '',
    is_default   INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX organizations_name_idx ON organizations (lower(name)) WHERE deleted = 0;
CREATE UNIQUE INDEX organizations_default_idx ON organizations (is_default) WHERE is_default = 1;

CREATE TABLE organization_members (
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    user_id         TEXT NOT NULL REFERENCES users (id),
    roles           TEXT NOT NULL DEFAULT '[]',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (organization_id, user_id)
) WITHOUT ROWID;
CREATE INDEX organization_members_user_idx ON organization_members (user_id);

-- The Everyone group of an organization is a row whose id equals the
-- organization id; its members are computed from organization_members.
CREATE TABLE groups (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    name            TEXT NOT NULL,
    display_name    TEXT NOT NULL DEFAULT '',
    avatar_url      TEXT NOT NULL DEFAULT '',
    quota_allowance INTEGER NOT NULL DEFAULT 0,
    source          TEXT NOT NULL DEFAULT 'user',
    created_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX groups_name_idx ON groups (organization_id, lower(name));

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX group_members_user_idx ON group_members (user_id);

-- `data` last: SQLite streams a blob into its row in place only when the
-- blob ends the record.
CREATE TABLE files (
    id         TEXT PRIMARY KEY,
    hash       TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    mimetype   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    data       BLOB NOT NULL
);
CREATE UNIQUE INDEX files_hash_idx ON files (hash, created_by);

CREATE TABLE provisioner_jobs (
    id              TEXT PRIMARY KEY,
    job_type        TEXT NOT NULL,
    provisioner     TEXT NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    initiator_id    TEXT NOT NULL REFERENCES users (id),
    file_id         TEXT NOT NULL REFERENCES files (id),
    input           TEXT NOT NULL DEFAULT '{}',
    tags            TEXT NOT NULL DEFAULT '{}',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    started_at      INTEGER,
    completed_at    INTEGER,
    canceled_at     INTEGER,
    error           TEXT NOT NULL DEFAULT '',
    error_code      TEXT NOT NULL DEFAULT '',
    worker_id       TEXT,
    worker_name     TEXT NOT NULL DEFAULT '',
    logs_overflowed INTEGER NOT NULL DEFAULT 0
);
-- The queue: pending jobs in arrival order.
CREATE INDEX provisioner_jobs_pending_idx ON provisioner_jobs (created_at, id, started_at, completed_at) WHERE started_at IS NULL AND completed_at IS NULL;
CREATE INDEX provisioner_jobs_active_idx ON provisioner_jobs (started_at) WHERE started_at IS NOT NULL AND completed_at IS NULL;
CREATE INDEX provisioner_jobs_file_idx ON provisioner_jobs (file_id);

CREATE TABLE provisioner_job_logs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id     TEXT NOT NULL REFERENCES provisioner_jobs (id),
    created_at INTEGER NOT NULL,
    source     TEXT NOT NULL,
    level      TEXT NOT NULL,
    stage      TEXT NOT NULL,
    output     TEXT NOT NULL
);
CREATE INDEX provisioner_job_logs_job_idx ON provisioner_job_logs (job_id, id);

CREATE TABLE provisioner_job_timings (
    job_id     TEXT NOT NULL REFERENCES provisioner_jobs (id),
    started_at INTEGER NOT NULL,
    ended_at   INTEGER NOT NULL,
    stage      TEXT NOT NULL,
    source     TEXT NOT NULL,
    action     TEXT NOT NULL,
    resource   TEXT NOT NULL
);
CREATE INDEX provisioner_job_timings_job_idx ON provisioner_job_timings (job_id);

CREATE TABLE templates (
    id                               TEXT PRIMARY KEY,
    organization_id                  TEXT NOT NULL REFERENCES organizations (id),
    name                             TEXT NOT NULL,
    display_name                     TEXT NOT NULL DEFAULT '',
    description                      TEXT NOT NULL DEFAULT '',
    icon                             TEXT NOT NULL DEFAULT '',
    provisioner                      TEXT NOT NULL,
    active_version_id                TEXT NOT NULL,
    created_by                       TEXT NOT NULL REFERENCES users (id),
    default_ttl_ms                   INTEGER NOT NULL DEFAULT 0,
    activity_bump_ms                 INTEGER NOT NULL DEFAULT 3600000,
    autostop_requirement_days        INTEGER NOT NULL DEFAULT 0,
    autostop_requirement_weeks       INTEGER NOT NULL DEFAULT 1,
    autostart_requirement_days       INTEGER NOT NULL DEFAULT 127,
    allow_user_autostart             INTEGER NOT NULL DEFAULT 1,
    allow_user_autostop              INTEGER NOT NULL DEFAULT 1,
    allow_user_cancel_workspace_jobs INTEGER NOT NULL DEFAULT 0,
    failure_ttl_ms                   INTEGER NOT NULL DEFAULT 0,
    time_til_dormant_ms              INTEGER NOT NULL DEFAULT 0,
    time_til_dormant_autodelete_ms   INTEGER NOT NULL DEFAULT 0,
    require_active_version           INTEGER NOT NULL DEFAULT 0,
    deprecation_message              TEXT NOT NULL DEFAULT '',
    max_port_share_level             TEXT NOT NULL DEFAULT 'owner',
    use_classic_parameter_flow       INTEGER NOT NULL DEFAULT 0,
    cors_behavior                    TEXT NOT NULL DEFAULT 'simple',
    created_at                       INTEGER NOT NULL,
    updated_at                       INTEGER NOT NULL,
    deleted                          INTEGER NOT NULL DEFAULT 0,
    use_terraform_workspace_cache    INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX templates_name_idx ON templates (organization_id, lower(name)) WHERE deleted = 0;
CREATE INDEX templates_lower_name_idx ON templates (lower(name)) WHERE deleted = 0;

-- Template ACLs: role is 'use' or 'admin'. The Everyone group (id = org id)
-- gets 'use' when a template is created, unless disabled.
CREATE TABLE template_user_acl (
    template_id TEXT NOT NULL REFERENCES templates (id),
    user_id     TEXT NOT NULL REFERENCES users (id),
    role        TEXT NOT NULL,
    PRIMARY KEY (template_id, user_id)
) WITHOUT ROWID;
CREATE INDEX template_user_acl_user_idx ON template_user_acl (user_id);

CREATE TABLE template_group_acl (
    template_id TEXT NOT NULL REFERENCES templates (id),
    group_id    TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    PRIMARY KEY (template_id, group_id)
) WITHOUT ROWID;
CREATE INDEX template_group_acl_group_idx ON template_group_acl (group_id);

CREATE TABLE template_versions (
    id                 TEXT PRIMARY KEY,
    template_id        TEXT REFERENCES templates (id),
    organization_id    TEXT NOT NULL REFERENCES organizations (id),
    name               TEXT NOT NULL,
    message            TEXT NOT NULL DEFAULT '',
    readme             TEXT NOT NULL DEFAULT '',
    job_id             TEXT NOT NULL REFERENCES provisioner_jobs (id),
    created_by         TEXT NOT NULL REFERENCES users (id),
    archived           INTEGER NOT NULL DEFAULT 0,
    -- The parsed template (provisioner::model::TemplateModel) once imported.
    model              TEXT,
    has_ai_task        INTEGER NOT NULL DEFAULT 0,
    has_external_agent INTEGER NOT NULL DEFAULT 0,
    user_variable_values TEXT NOT NULL DEFAULT '[]',
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE UNIQUE INDEX template_versions_name_idx ON template_versions (template_id, lower(name)) WHERE template_id IS NOT NULL;
CREATE INDEX template_versions_template_idx ON template_versions (template_id, created_at);
CREATE UNIQUE INDEX template_versions_job_idx ON template_versions (job_id);

CREATE TABLE template_version_parameters (
    template_version_id TEXT NOT NULL REFERENCES template_versions (id),
    position            INTEGER NOT NULL,
    name                TEXT NOT NULL,
    -- provisioner::model::Parameter as JSON: read whole, never filtered on.
    definition          TEXT NOT NULL,
    PRIMARY KEY (template_version_id, name)
) WITHOUT ROWID;

CREATE TABLE template_version_presets (
    id                  TEXT PRIMARY KEY,
    template_version_id TEXT NOT NULL REFERENCES template_versions (id),
    name                TEXT NOT NULL,
    parameters          TEXT NOT NULL DEFAULT '{}',
    is_default          INTEGER NOT NULL DEFAULT 0,
    description         TEXT NOT NULL DEFAULT '',
    icon                TEXT NOT NULL DEFAULT '',
    desired_prebuild_instances INTEGER,
    created_at          INTEGER NOT NULL
);
CREATE INDEX template_version_presets_version_idx ON template_version_presets (template_version_id);

CREATE TABLE template_version_variables (
    template_version_id TEXT NOT NULL REFERENCES template_versions (id),
    position            INTEGER NOT NULL,
    name                TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    type                TEXT NOT NULL,
    value               TEXT NOT NULL DEFAULT '',
    default_value       TEXT NOT NULL DEFAULT '',
    required            INTEGER NOT NULL DEFAULT 0,
    sensitive           INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (template_version_id, name)
) WITHOUT ROWID;

CREATE TABLE workspaces (
    id                 TEXT PRIMARY KEY,
    owner_id           TEXT NOT NULL REFERENCES users (id),
    organization_id    TEXT NOT NULL REFERENCES organizations (id),
    template_id        TEXT NOT NULL REFERENCES templates (id),
    name               TEXT NOT NULL,
    autostart_schedule TEXT,
    ttl_ms             INTEGER,
    next_start_at      INTEGER,
    last_used_at       INTEGER NOT NULL,
    dormant_at         INTEGER,
    deleting_at        INTEGER,
    automatic_updates  TEXT NOT NULL DEFAULT 'never',
    favorite           INTEGER NOT NULL DEFAULT 0,
    -- Maintained by store::builds whenever a build is inserted, so that reads
    -- and the list never search for the newest build.
    latest_build_id    TEXT,
    -- Sort keys of the workspace list: the owner's lower-cased username
    -- (kept by the storage layer) and whether the latest build is a
    -- succeeded start (status running; a maintained column as below).
    owner_sort         TEXT NOT NULL DEFAULT '',
    running            INTEGER NOT NULL DEFAULT 0,
    deleted            INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    -- What the list's filters match; kept by triggers that the storage
    -- layer (re)creates at every start from its one definition of each
    -- (store::workspaces::maintained_trigger_defs): the latest build's workspace
    -- status; whether its version is not the template's active one; its
    -- AI-task and external-agent flags; its job when it is a start (whose
    -- agents `has-agent:` looks at) and deadline (the lifecycle's); and
    -- whether any user or group shares it. (No commas in these comments:
    -- SQLite's DROP COLUMN (which tests faking an older schema use) takes
    -- the last one before a column for the end of the previous column.)
    status             TEXT,
    outdated           INTEGER,
    has_ai_task        INTEGER,
    has_external_agent INTEGER,
    agent_job_id       TEXT,
    start_deadline     INTEGER,
    shared             INTEGER NOT NULL DEFAULT 0,
    -- What has-agent asks of the agents of that job per workspace (see
    -- store::status::AGENT_SUMMARY).
    agents_timeout_from     INTEGER,
    agents_connecting_until INTEGER,
    agents_disconnected     INTEGER,
    agents_silent_from      INTEGER,
    agents_connected_until  INTEGER
);
CREATE UNIQUE INDEX workspaces_owner_name_idx ON workspaces (owner_id, lower(name)) WHERE deleted = 0;
CREATE INDEX workspaces_owner_idx ON workspaces (owner_id);
-- Coder's list order after the caller's favorites: pages read it in order.
-- It also holds what a page's filter and visibility read, so that skipping
-- to an offset reads no row.
CREATE INDEX workspaces_list_order_idx ON workspaces (running DESC, owner_sort, lower(name), id, owner_id, organization_id, favorite, deleted, outdated, has_ai_task, has_external_agent, shared) WHERE deleted = 0;
-- A filtered page reads its rows in list order from one of these, and its
-- count is the length of a range of the same index.
CREATE INDEX workspaces_template_idx ON workspaces (template_id, running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0;
CREATE INDEX workspaces_organization_idx ON workspaces (organization_id, running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0;
CREATE INDEX workspaces_status_idx ON workspaces (status, running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0;
CREATE INDEX workspaces_outdated_idx ON workspaces (running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0 AND outdated = 1;
CREATE INDEX workspaces_ai_task_idx ON workspaces (running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0 AND has_ai_task = 1;
CREATE INDEX workspaces_external_agent_idx ON workspaces (running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0 AND has_external_agent = 1;
CREATE INDEX workspaces_shared_idx ON workspaces (running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0 AND shared = 1;
CREATE INDEX workspaces_latest_build_idx ON workspaces (latest_build_id, deleted);
CREATE INDEX workspaces_agent_job_idx ON workspaces (agent_job_id);
-- has-agent's counts.
CREATE INDEX workspaces_agents_timeout_idx ON workspaces (agents_timeout_from, deleted) WHERE deleted = 0 AND agents_timeout_from IS NOT NULL;
CREATE INDEX workspaces_agents_connecting_idx ON workspaces (agents_connecting_until, deleted) WHERE deleted = 0 AND agents_connecting_until IS NOT NULL;
CREATE INDEX workspaces_agents_disconnected_idx ON workspaces (agents_disconnected, deleted) WHERE deleted = 0 AND agents_disconnected = 1;
CREATE INDEX workspaces_agents_silent_idx ON workspaces (agents_silent_from, deleted) WHERE deleted = 0 AND agents_silent_from IS NOT NULL;
CREATE INDEX workspaces_agents_connected_idx ON workspaces (agents_connected_until, deleted) WHERE deleted = 0 AND agents_connected_until IS NOT NULL;
-- The lifecycle executor's ways of finding due workspaces.
CREATE INDEX workspaces_start_deadline_idx ON workspaces (start_deadline) WHERE deleted = 0 AND start_deadline IS NOT NULL;
CREATE INDEX workspaces_schedule_idx ON workspaces (autostart_schedule) WHERE deleted = 0 AND autostart_schedule IS NOT NULL;
CREATE INDEX workspaces_dormancy_idx ON workspaces (template_id, last_used_at) WHERE deleted = 0 AND dormant_at IS NULL;
CREATE INDEX workspaces_deleting_idx ON workspaces (deleting_at) WHERE deleted = 0 AND deleting_at IS NOT NULL;
CREATE INDEX users_status_idx ON users (status);
CREATE INDEX workspaces_lower_name_idx ON workspaces (lower(name)) WHERE deleted = 0;
CREATE INDEX workspaces_last_used_idx ON workspaces (last_used_at) WHERE deleted = 0;
CREATE INDEX workspaces_dormant_idx ON workspaces (dormant_at) WHERE deleted = 0 AND dormant_at IS NOT NULL;
CREATE INDEX workspaces_next_start_idx ON workspaces (next_start_at) WHERE deleted = 0 AND next_start_at IS NOT NULL;

CREATE TABLE workspace_user_acl (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    user_id      TEXT NOT NULL,
    role         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
) WITHOUT ROWID;
CREATE INDEX workspace_user_acl_user_idx ON workspace_user_acl (user_id);

CREATE TABLE workspace_group_acl (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    group_id     TEXT NOT NULL,
    role         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, group_id)
) WITHOUT ROWID;
CREATE INDEX workspace_group_acl_group_idx ON workspace_group_acl (group_id);

CREATE TABLE workspace_builds (
    id                         TEXT PRIMARY KEY,
    workspace_id               TEXT NOT NULL REFERENCES workspaces (id),
    template_version_id        TEXT NOT NULL REFERENCES template_versions (id),
    build_number               INTEGER NOT NULL,
    transition                 TEXT NOT NULL,
    initiator_id               TEXT NOT NULL REFERENCES users (id),
    reason                     TEXT NOT NULL,
    job_id                     TEXT NOT NULL REFERENCES provisioner_jobs (id),
    deadline                   INTEGER,
    max_deadline               INTEGER,
    daily_cost                 INTEGER NOT NULL DEFAULT 0,
    provisioner_state          BLOB,
    template_version_preset_id TEXT,
    has_ai_task                INTEGER,
    has_external_agent         INTEGER,
    created_at                 INTEGER NOT NULL,
    updated_at                 INTEGER NOT NULL,
    deadline_reason            TEXT NOT NULL DEFAULT '',
    deadline_set_at            INTEGER,
    deadline_set_by            TEXT NOT NULL DEFAULT ''
);
-- deadline_reason: what set `deadline` last (ttl, template_ttl,
-- autostart_ttl, max_deadline, ttl_disabled, extended, activity_bump); when
-- (deadline_set_at) and by whom or what (deadline_set_by: a username, an app).
--
-- Also what makes two racing builds of one workspace collide.
CREATE UNIQUE INDEX workspace_builds_number_idx ON workspace_builds (workspace_id, build_number);
CREATE UNIQUE INDEX workspace_builds_job_idx ON workspace_builds (job_id);

CREATE TABLE workspace_build_parameters (
    workspace_build_id TEXT NOT NULL REFERENCES workspace_builds (id),
    position           INTEGER NOT NULL,
    name               TEXT NOT NULL,
    value              TEXT NOT NULL,
    PRIMARY KEY (workspace_build_id, name)
) WITHOUT ROWID;
CREATE INDEX workspace_build_parameters_name_idx ON workspace_build_parameters (lower(name), lower(value));

CREATE TABLE workspace_resources (
    id            TEXT PRIMARY KEY,
    job_id        TEXT NOT NULL REFERENCES provisioner_jobs (id),
    transition    TEXT NOT NULL,
    type          TEXT NOT NULL,
    name          TEXT NOT NULL,
    hide          INTEGER NOT NULL DEFAULT 0,
    icon          TEXT NOT NULL DEFAULT '',
    instance_type TEXT NOT NULL DEFAULT '',
    daily_cost    INTEGER NOT NULL DEFAULT 0,
    -- [{key, value, sensitive}] in template order.
    metadata      TEXT NOT NULL DEFAULT '[]',
    created_at    INTEGER NOT NULL
);
CREATE INDEX workspace_resources_job_idx ON workspace_resources (job_id);

CREATE TABLE workspace_agents (
    id                         TEXT PRIMARY KEY,
    resource_id                TEXT NOT NULL REFERENCES workspace_resources (id),
    parent_id                  TEXT,
    name                       TEXT NOT NULL,
    -- SHA-256 of the agent's token; the token itself is shown once.
    auth_token_hash            BLOB NOT NULL,
    architecture               TEXT NOT NULL,
    operating_system           TEXT NOT NULL,
    directory                  TEXT NOT NULL DEFAULT '',
    expanded_directory         TEXT NOT NULL DEFAULT '',
    environment_variables      TEXT NOT NULL DEFAULT '{}',
    version                    TEXT NOT NULL DEFAULT '',
    api_version                TEXT NOT NULL DEFAULT '',
    instance_id                TEXT NOT NULL DEFAULT '',
    connection_timeout_seconds INTEGER NOT NULL DEFAULT 120,
    troubleshooting_url        TEXT NOT NULL DEFAULT '',
    motd_file                  TEXT NOT NULL DEFAULT '',
    display_apps               TEXT NOT NULL DEFAULT '[]',
    subsystems                 TEXT NOT NULL DEFAULT '[]',
    -- [{key, display_name, script, interval, timeout, order}]
    metadata                   TEXT NOT NULL DEFAULT '[]',
    lifecycle_state            TEXT NOT NULL DEFAULT 'created',
    started_at                 INTEGER,
    ready_at                   INTEGER,
    first_connected_at         INTEGER,
    last_connected_at          INTEGER,
    disconnected_at            INTEGER,
    -- 1 while the built-in simulation drives this agent: it reports without
    -- heartbeats, so inactivity does not make it disconnected.
    simulated                  INTEGER NOT NULL DEFAULT 1,
    logs_length                INTEGER NOT NULL DEFAULT 0,
    logs_overflowed            INTEGER NOT NULL DEFAULT 0,
    display_order              INTEGER NOT NULL DEFAULT 0,
    created_at                 INTEGER NOT NULL,
    updated_at                 INTEGER NOT NULL
);
CREATE INDEX workspace_agents_resource_idx ON workspace_agents (resource_id);
CREATE UNIQUE INDEX workspace_agents_token_idx ON workspace_agents (auth_token_hash);

CREATE TABLE workspace_apps (
    id                    TEXT PRIMARY KEY,
    agent_id              TEXT NOT NULL REFERENCES workspace_agents (id),
    slug                  TEXT NOT NULL,
    display_name          TEXT NOT NULL DEFAULT '',
    command               TEXT NOT NULL DEFAULT '',
    url                   TEXT NOT NULL DEFAULT '',
    icon                  TEXT NOT NULL DEFAULT '',
    subdomain             INTEGER NOT NULL DEFAULT 0,
    sharing_level         TEXT NOT NULL DEFAULT 'owner',
    healthcheck_url       TEXT NOT NULL DEFAULT '',
    healthcheck_interval  INTEGER NOT NULL DEFAULT 0,
    healthcheck_threshold INTEGER NOT NULL DEFAULT 0,
    health                TEXT NOT NULL DEFAULT 'disabled',
    external              INTEGER NOT NULL DEFAULT 0,
    hidden                INTEGER NOT NULL DEFAULT 0,
    open_in               TEXT NOT NULL DEFAULT 'slim-window',
    group_name            TEXT NOT NULL DEFAULT '',
    tooltip               TEXT NOT NULL DEFAULT '',
    display_order         INTEGER NOT NULL DEFAULT 0,
    created_at            INTEGER NOT NULL
);
CREATE INDEX workspace_apps_agent_idx ON workspace_apps (agent_id);

CREATE TABLE workspace_app_statuses (
    id                   TEXT PRIMARY KEY,
    created_at           INTEGER NOT NULL,
    workspace_id         TEXT NOT NULL REFERENCES workspaces (id),
    agent_id             TEXT NOT NULL REFERENCES workspace_agents (id),
    app_id               TEXT NOT NULL REFERENCES workspace_apps (id),
    state                TEXT NOT NULL,
    message              TEXT NOT NULL DEFAULT '',
    uri                  TEXT NOT NULL DEFAULT '',
    icon                 TEXT NOT NULL DEFAULT '',
    needs_user_attention INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX workspace_app_statuses_workspace_idx ON workspace_app_statuses (workspace_id, created_at);
CREATE INDEX workspace_app_statuses_app_idx ON workspace_app_statuses (app_id, created_at);

CREATE TABLE workspace_agent_log_sources (
    id           TEXT NOT NULL,
    agent_id     TEXT NOT NULL REFERENCES workspace_agents (id),
    display_name TEXT NOT NULL,
    icon         TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (agent_id, id)
) WITHOUT ROWID;

CREATE TABLE workspace_agent_scripts (
    id                 TEXT PRIMARY KEY,
    agent_id           TEXT NOT NULL REFERENCES workspace_agents (id),
    log_source_id      TEXT NOT NULL,
    log_path           TEXT NOT NULL DEFAULT '',
    script             TEXT NOT NULL DEFAULT '',
    cron               TEXT NOT NULL DEFAULT '',
    run_on_start       INTEGER NOT NULL DEFAULT 0,
    run_on_stop        INTEGER NOT NULL DEFAULT 0,
    start_blocks_login INTEGER NOT NULL DEFAULT 0,
    timeout_seconds    INTEGER NOT NULL DEFAULT 0,
    display_name       TEXT NOT NULL DEFAULT '',
    display_order      INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL
);
CREATE INDEX workspace_agent_scripts_agent_idx ON workspace_agent_scripts (agent_id);

CREATE TABLE workspace_agent_script_timings (
    script_id  TEXT NOT NULL REFERENCES workspace_agent_scripts (id),
    agent_id   TEXT NOT NULL REFERENCES workspace_agents (id),
    started_at INTEGER NOT NULL,
    ended_at   INTEGER NOT NULL,
    exit_code  INTEGER NOT NULL,
    stage      TEXT NOT NULL,
    status     TEXT NOT NULL
);
CREATE INDEX workspace_agent_script_timings_agent_idx ON workspace_agent_script_timings (agent_id);

CREATE TABLE workspace_agent_logs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id      TEXT NOT NULL REFERENCES workspace_agents (id),
    log_source_id TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    output        TEXT NOT NULL,
    level         TEXT NOT NULL
);
CREATE INDEX workspace_agent_logs_agent_idx ON workspace_agent_logs (agent_id, id);

-- A user's settings by key (Coder's user_configs): `terminal_font`.
CREATE TABLE user_configs (
    user_id TEXT NOT NULL REFERENCES users (id),
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
) WITHOUT ROWID;

-- The results of an agent's `metadata` items (one row per key, made with the
-- agent; collected_at is Go's zero time until the first report).
CREATE TABLE workspace_agent_metadata (
    agent_id      TEXT NOT NULL REFERENCES workspace_agents (id),
    key           TEXT NOT NULL,
    display_name  TEXT NOT NULL DEFAULT '',
    script        TEXT NOT NULL DEFAULT '',
    interval      INTEGER NOT NULL DEFAULT 0,
    timeout       INTEGER NOT NULL DEFAULT 0,
    display_order INTEGER NOT NULL DEFAULT 0,
    value         TEXT NOT NULL DEFAULT '',
    error         TEXT NOT NULL DEFAULT '',
    collected_at  INTEGER NOT NULL,
    PRIMARY KEY (agent_id, key)
) WITHOUT ROWID;
-- When each item is next due: the simulated agents' beat reads only those.
CREATE INDEX workspace_agent_metadata_due_idx ON workspace_agent_metadata (collected_at + max(interval, 1) * 1000000);

-- The ports an agent last reported listening on.
CREATE TABLE workspace_agent_listening_ports (
    agent_id     TEXT NOT NULL REFERENCES workspace_agents (id),
    port         INTEGER NOT NULL,
    network      TEXT NOT NULL,
    process_name TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (agent_id, port, network)
) WITHOUT ROWID;

-- Ports of a workspace's agents shared beyond their owner.
CREATE TABLE workspace_agent_port_shares (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    agent_name   TEXT NOT NULL,
    port         INTEGER NOT NULL,
    share_level  TEXT NOT NULL,
    protocol     TEXT NOT NULL,
    PRIMARY KEY (workspace_id, agent_name, port)
) WITHOUT ROWID;
-- What the lifecycle executor did to a workspace and why (action: autostop,
-- autostart, dormant, dormancy, autodelete; reason: the rule that made it
-- due); the newest few per workspace are kept.
CREATE TABLE lifecycle_actions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    build_id     TEXT REFERENCES workspace_builds (id),
    created_at   INTEGER NOT NULL,
    action       TEXT NOT NULL,
    reason       TEXT NOT NULL,
    detail       TEXT NOT NULL
);
CREATE INDEX lifecycle_actions_workspace_idx ON lifecycle_actions (workspace_id, id);

-- Custom organization roles: the organization-level permissions (a JSON
-- list of {negate, resource_type, action}) each grants its holders, who
-- name it in organization_members.roles. Names are unique per organization
-- whatever their case.
CREATE TABLE custom_roles (
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    name            TEXT NOT NULL,
    display_name    TEXT NOT NULL DEFAULT '',
    org_permissions TEXT NOT NULL DEFAULT '[]',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX custom_roles_name_idx ON custom_roles (organization_id, lower(name));
