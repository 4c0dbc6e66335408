-- Warren's PostgreSQL schema, version 8 (the latest): the same tables,
-- columns, keys and indexes as schema.sql, in PostgreSQL's types, so that
-- every statement of src/domain/store runs unchanged on either engine.
--
-- Conventions, as in schema.sql: ids are UUID text; times are BIGINT
-- microseconds since the Unix epoch, UTC; booleans are BIGINT 0/1 (so the
-- shared statements' `deleted = 0` and `favorite = 1` hold on both); small
-- lists and maps read whole are JSON text. Text is collated "C" (bytewise,
-- as SQLite's BINARY): ordering and lower() (ASCII only, as in SQLite) do
-- not depend on the database's locale. The three tables whose rows are
-- ordered by insertion keep SQLite's implicit rowid as a column.
--
-- Applied once to an empty database inside one transaction, with the
-- version row in warren_schema. Every change adds a numbered step to
-- src/domain/store/postgres.rs (MIGRATIONS), edits this file to match, and
-- makes the same change to schema.sql and its SQLite steps.

CREATE TABLE warren_schema (
    application_id BIGINT NOT NULL,
    version        BIGINT NOT NULL
);

CREATE TABLE settings (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);

CREATE TABLE users (
    id                 TEXT COLLATE "C" PRIMARY KEY,
    username           TEXT COLLATE "C" NOT NULL,
    email              TEXT COLLATE "C" NOT NULL,
    name               TEXT COLLATE "C" NOT NULL DEFAULT '',
    avatar_url         TEXT COLLATE "C" NOT NULL DEFAULT '',
    hashed_password    TEXT COLLATE "C" NOT NULL DEFAULT '',
    login_type         TEXT COLLATE "C" NOT NULL,
    status             TEXT COLLATE "C" NOT NULL,
    rbac_roles         TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    is_service_account BIGINT NOT NULL DEFAULT 0,
    theme_preference   TEXT COLLATE "C" NOT NULL DEFAULT '',
    quiet_hours_schedule TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    last_seen_at       BIGINT,
    deleted            BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX users_username_idx ON users (lower(username)) WHERE deleted = 0;
CREATE UNIQUE INDEX users_email_idx ON users (lower(email)) WHERE deleted = 0 AND email <> '';

CREATE TABLE user_ssh_keys (
    user_id     TEXT COLLATE "C" PRIMARY KEY REFERENCES users (id),
    private_key TEXT COLLATE "C" NOT NULL,
    public_key  TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id               TEXT COLLATE "C" PRIMARY KEY,
    hashed_secret    BYTEA NOT NULL,
    user_id          TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    login_type       TEXT COLLATE "C" NOT NULL,
    scopes           TEXT COLLATE "C" NOT NULL DEFAULT '["coder:all"]',
    allow_list       TEXT COLLATE "C" NOT NULL DEFAULT '[{"type":"*","id":"*"}]',
    token_name       TEXT COLLATE "C" NOT NULL DEFAULT '',
    lifetime_seconds BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    last_used        BIGINT,
    ip_address       TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);
CREATE UNIQUE INDEX api_keys_token_name_idx ON api_keys (user_id, token_name) WHERE login_type = 'token';

CREATE TABLE organizations (
    id           TEXT COLLATE "C" PRIMARY KEY,
    name         TEXT COLLATE "C" NOT NULL,
    display_name TEXT COLLATE "C" NOT NULL DEFAULT '',
    description  TEXT COLLATE "C" NOT NULL DEFAULT '',
    icon         TEXT COLLATE "C" NOT NULL DEFAULT '',
    is_default   BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    deleted      BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX organizations_name_idx ON organizations (lower(name)) WHERE deleted = 0;
CREATE UNIQUE INDEX organizations_default_idx ON organizations (is_default) WHERE is_default = 1;

CREATE TABLE organization_members (
    organization_id TEXT COLLATE "C" NOT NULL REFERENCES organizations (id),
    user_id         TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    roles           TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX organization_members_user_idx ON organization_members (user_id);

-- The Everyone group of an organization is a row whose id equals the
-- organization id; its members are computed from organization_members.
CREATE TABLE groups (
    id              TEXT COLLATE "C" PRIMARY KEY,
    organization_id TEXT COLLATE "C" NOT NULL REFERENCES organizations (id),
    name            TEXT COLLATE "C" NOT NULL,
    display_name    TEXT COLLATE "C" NOT NULL DEFAULT '',
    avatar_url      TEXT COLLATE "C" NOT NULL DEFAULT '',
    quota_allowance BIGINT NOT NULL DEFAULT 0,
    source          TEXT COLLATE "C" NOT NULL DEFAULT 'user',
    created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX groups_name_idx ON groups (organization_id, lower(name));

CREATE TABLE group_members (
    group_id TEXT COLLATE "C" NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id  TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user_idx ON group_members (user_id);

CREATE TABLE files (
    id         TEXT COLLATE "C" PRIMARY KEY,
    hash       TEXT COLLATE "C" NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    mimetype   TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    data       BYTEA NOT NULL
);
CREATE UNIQUE INDEX files_hash_idx ON files (hash, created_by);

CREATE TABLE provisioner_jobs (
    id              TEXT COLLATE "C" PRIMARY KEY,
    job_type        TEXT COLLATE "C" NOT NULL,
    provisioner     TEXT COLLATE "C" NOT NULL,
    organization_id TEXT COLLATE "C" NOT NULL REFERENCES organizations (id),
    initiator_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    file_id         TEXT COLLATE "C" NOT NULL REFERENCES files (id),
    input           TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    tags            TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    started_at      BIGINT,
    completed_at    BIGINT,
    canceled_at     BIGINT,
    error           TEXT COLLATE "C" NOT NULL DEFAULT '',
    error_code      TEXT COLLATE "C" NOT NULL DEFAULT '',
    worker_id       TEXT COLLATE "C",
    worker_name     TEXT COLLATE "C" NOT NULL DEFAULT '',
    logs_overflowed BIGINT NOT NULL DEFAULT 0
);
-- The queue: pending jobs in arrival order.
CREATE INDEX provisioner_jobs_pending_idx ON provisioner_jobs (created_at, id, started_at, completed_at) WHERE started_at IS NULL AND completed_at IS NULL;
CREATE INDEX provisioner_jobs_active_idx ON provisioner_jobs (started_at) WHERE started_at IS NOT NULL AND completed_at IS NULL;
CREATE INDEX provisioner_jobs_file_idx ON provisioner_jobs (file_id);

CREATE TABLE provisioner_job_logs (
    id         BIGSERIAL PRIMARY KEY,
    job_id     TEXT COLLATE "C" NOT NULL REFERENCES provisioner_jobs (id),
    created_at BIGINT NOT NULL,
    source     TEXT COLLATE "C" NOT NULL,
    level      TEXT COLLATE "C" NOT NULL,
    stage      TEXT COLLATE "C" NOT NULL,
    output     TEXT COLLATE "C" NOT NULL
);
CREATE INDEX provisioner_job_logs_job_idx ON provisioner_job_logs (job_id, id);

CREATE TABLE provisioner_job_timings (
    -- SQLite's implicit rowid, which statements order by.
    rowid      BIGSERIAL NOT NULL,
    job_id     TEXT COLLATE "C" NOT NULL REFERENCES provisioner_jobs (id),
    started_at BIGINT NOT NULL,
    ended_at   BIGINT NOT NULL,
    stage      TEXT COLLATE "C" NOT NULL,
    source     TEXT COLLATE "C" NOT NULL,
    action     TEXT COLLATE "C" NOT NULL,
    resource   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX provisioner_job_timings_job_idx ON provisioner_job_timings (job_id);

CREATE TABLE templates (
    id                               TEXT COLLATE "C" PRIMARY KEY,
    organization_id                  TEXT COLLATE "C" NOT NULL REFERENCES organizations (id),
    name                             TEXT COLLATE "C" NOT NULL,
    display_name                     TEXT COLLATE "C" NOT NULL DEFAULT '',
    description                      TEXT COLLATE "C" NOT NULL DEFAULT '',
    icon                             TEXT COLLATE "C" NOT NULL DEFAULT '',
    provisioner                      TEXT COLLATE "C" NOT NULL,
    active_version_id                TEXT COLLATE "C" NOT NULL,
    created_by                       TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    default_ttl_ms                   BIGINT NOT NULL DEFAULT 0,
    activity_bump_ms                 BIGINT NOT NULL DEFAULT 3600000,
    autostop_requirement_days        BIGINT NOT NULL DEFAULT 0,
    autostop_requirement_weeks       BIGINT NOT NULL DEFAULT 1,
    autostart_requirement_days       BIGINT NOT NULL DEFAULT 127,
    allow_user_autostart             BIGINT NOT NULL DEFAULT 1,
    allow_user_autostop              BIGINT NOT NULL DEFAULT 1,
    allow_user_cancel_workspace_jobs BIGINT NOT NULL DEFAULT 0,
    failure_ttl_ms                   BIGINT NOT NULL DEFAULT 0,
    time_til_dormant_ms              BIGINT NOT NULL DEFAULT 0,
    time_til_dormant_autodelete_ms   BIGINT NOT NULL DEFAULT 0,
    require_active_version           BIGINT NOT NULL DEFAULT 0,
    deprecation_message              TEXT COLLATE "C" NOT NULL DEFAULT '',
    max_port_share_level             TEXT COLLATE "C" NOT NULL DEFAULT 'owner',
    use_classic_parameter_flow       BIGINT NOT NULL DEFAULT 0,
    cors_behavior                    TEXT COLLATE "C" NOT NULL DEFAULT 'simple',
    created_at                       BIGINT NOT NULL,
    updated_at                       BIGINT NOT NULL,
    deleted                          BIGINT NOT NULL DEFAULT 0,
    use_terraform_workspace_cache    BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX templates_name_idx ON templates (organization_id, lower(name)) WHERE deleted = 0;
CREATE INDEX templates_lower_name_idx ON templates (lower(name)) WHERE deleted = 0;

-- Template ACLs: role is 'use' or 'admin'. The Everyone group (id = org id)
-- gets 'use' when a template is created, unless disabled.
CREATE TABLE template_user_acl (
    template_id TEXT COLLATE "C" NOT NULL REFERENCES templates (id),
    user_id     TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    role        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (template_id, user_id)
);
CREATE INDEX template_user_acl_user_idx ON template_user_acl (user_id);

CREATE TABLE template_group_acl (
    template_id TEXT COLLATE "C" NOT NULL REFERENCES templates (id),
    group_id    TEXT COLLATE "C" NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    role        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (template_id, group_id)
);
CREATE INDEX template_group_acl_group_idx ON template_group_acl (group_id);

CREATE TABLE template_versions (
    id                 TEXT COLLATE "C" PRIMARY KEY,
    template_id        TEXT COLLATE "C" REFERENCES templates (id),
    organization_id    TEXT COLLATE "C" NOT NULL REFERENCES organizations (id),
    name               TEXT COLLATE "C" NOT NULL,
    message            TEXT COLLATE "C" NOT NULL DEFAULT '',
    readme             TEXT COLLATE "C" NOT NULL DEFAULT '',
    job_id             TEXT COLLATE "C" NOT NULL REFERENCES provisioner_jobs (id),
    created_by         TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    archived           BIGINT NOT NULL DEFAULT 0,
    -- The parsed template (provisioner::model::TemplateModel) once imported.
    model              TEXT COLLATE "C",
    has_ai_task        BIGINT NOT NULL DEFAULT 0,
    has_external_agent BIGINT NOT NULL DEFAULT 0,
    user_variable_values TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE UNIQUE INDEX template_versions_name_idx ON template_versions (template_id, lower(name)) WHERE template_id IS NOT NULL;
CREATE INDEX template_versions_template_idx ON template_versions (template_id, created_at);
CREATE UNIQUE INDEX template_versions_job_idx ON template_versions (job_id);

CREATE TABLE template_version_parameters (
    template_version_id TEXT COLLATE "C" NOT NULL REFERENCES template_versions (id),
    position            BIGINT NOT NULL,
    name                TEXT COLLATE "C" NOT NULL,
    -- provisioner::model::Parameter as JSON: read whole, never filtered on.
    definition          TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (template_version_id, name)
);

CREATE TABLE template_version_presets (
    -- SQLite's implicit rowid, which statements order by.
    rowid      BIGSERIAL NOT NULL,
    id                  TEXT COLLATE "C" PRIMARY KEY,
    template_version_id TEXT COLLATE "C" NOT NULL REFERENCES template_versions (id),
    name                TEXT COLLATE "C" NOT NULL,
    parameters          TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    is_default          BIGINT NOT NULL DEFAULT 0,
    description         TEXT COLLATE "C" NOT NULL DEFAULT '',
    icon                TEXT COLLATE "C" NOT NULL DEFAULT '',
    desired_prebuild_instances BIGINT,
    created_at          BIGINT NOT NULL
);
CREATE INDEX template_version_presets_version_idx ON template_version_presets (template_version_id);

CREATE TABLE template_version_variables (
    template_version_id TEXT COLLATE "C" NOT NULL REFERENCES template_versions (id),
    position            BIGINT NOT NULL,
    name                TEXT COLLATE "C" NOT NULL,
    description         TEXT COLLATE "C" NOT NULL DEFAULT '',
    type                TEXT COLLATE "C" NOT NULL,
    value               TEXT COLLATE "C" NOT NULL DEFAULT '',
    default_value       TEXT COLLATE "C" NOT NULL DEFAULT '',
    required            BIGINT NOT NULL DEFAULT 0,
    sensitive           BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (template_version_id, name)
);

CREATE TABLE workspaces (
    id                 TEXT COLLATE "C" PRIMARY KEY,
    owner_id           TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    organization_id    TEXT COLLATE "C" NOT NULL REFERENCES organizations (id),
    template_id        TEXT COLLATE "C" NOT NULL REFERENCES templates (id),
    name               TEXT COLLATE "C" NOT NULL,
    autostart_schedule TEXT COLLATE "C",
    ttl_ms             BIGINT,
    next_start_at      BIGINT,
    last_used_at       BIGINT NOT NULL,
    dormant_at         BIGINT,
    deleting_at        BIGINT,
    automatic_updates  TEXT COLLATE "C" NOT NULL DEFAULT 'never',
    favorite           BIGINT NOT NULL DEFAULT 0,
    -- Maintained by store::builds whenever a build is inserted, so that reads
    -- and the list never search for the newest build.
    latest_build_id    TEXT COLLATE "C",
    -- Sort keys of the workspace list, kept by the storage layer: the
    -- owner's lower-cased username, and whether the latest build is a
    -- succeeded start (status running).
    owner_sort         TEXT COLLATE "C" NOT NULL DEFAULT '',
    running            BIGINT NOT NULL DEFAULT 0,
    deleted            BIGINT NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    -- What the list's filters match, kept by triggers that the storage
    -- layer (re)creates at every start from its one definition of each
    -- (store::workspaces::maintained_trigger_defs): the latest build's workspace status,
    -- whether its version is not the template's active one, its AI-task and
    -- external-agent flags, its job when it is a start (whose agents
    -- `has-agent:` looks at) and deadline (the lifecycle's), and whether any
    -- user or group shares it.
    status             TEXT COLLATE "C",
    outdated           BIGINT,
    has_ai_task        BIGINT,
    has_external_agent BIGINT,
    agent_job_id       TEXT COLLATE "C",
    start_deadline     BIGINT,
    shared             BIGINT NOT NULL DEFAULT 0,
    -- What has-agent asks of the agents of that job, per workspace (see
    -- store::status::AGENT_SUMMARY).
    agents_timeout_from     BIGINT,
    agents_connecting_until BIGINT,
    agents_disconnected     BIGINT,
    agents_silent_from      BIGINT,
    agents_connected_until  BIGINT
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
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
    user_id      TEXT COLLATE "C" NOT NULL,
    role         TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX workspace_user_acl_user_idx ON workspace_user_acl (user_id);

CREATE TABLE workspace_group_acl (
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
    group_id     TEXT COLLATE "C" NOT NULL,
    role         TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, group_id)
);
CREATE INDEX workspace_group_acl_group_idx ON workspace_group_acl (group_id);

CREATE TABLE workspace_builds (
    id                         TEXT COLLATE "C" PRIMARY KEY,
    workspace_id               TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
    template_version_id        TEXT COLLATE "C" NOT NULL REFERENCES template_versions (id),
    build_number               BIGINT NOT NULL,
    transition                 TEXT COLLATE "C" NOT NULL,
    initiator_id               TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    reason                     TEXT COLLATE "C" NOT NULL,
    job_id                     TEXT COLLATE "C" NOT NULL REFERENCES provisioner_jobs (id),
    deadline                   BIGINT,
    max_deadline               BIGINT,
    daily_cost                 BIGINT NOT NULL DEFAULT 0,
    provisioner_state          BYTEA,
    template_version_preset_id TEXT COLLATE "C",
    has_ai_task                BIGINT,
    has_external_agent         BIGINT,
    created_at                 BIGINT NOT NULL,
    updated_at                 BIGINT NOT NULL,
    deadline_reason            TEXT COLLATE "C" NOT NULL DEFAULT '',
    deadline_set_at            BIGINT,
    deadline_set_by            TEXT COLLATE "C" NOT NULL DEFAULT ''
);
-- deadline_reason: what set `deadline` last (ttl, template_ttl,
-- autostart_ttl, max_deadline, ttl_disabled, extended, activity_bump); when
-- (deadline_set_at) and by whom or what (deadline_set_by: a username, an app).
--
-- Also what makes two racing builds of one workspace collide.
CREATE UNIQUE INDEX workspace_builds_number_idx ON workspace_builds (workspace_id, build_number);
CREATE UNIQUE INDEX workspace_builds_job_idx ON workspace_builds (job_id);

CREATE TABLE workspace_build_parameters (
    workspace_build_id TEXT COLLATE "C" NOT NULL REFERENCES workspace_builds (id),
    position           BIGINT NOT NULL,
    name               TEXT COLLATE "C" NOT NULL,
    value              TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_build_id, name)
);
CREATE INDEX workspace_build_parameters_name_idx ON workspace_build_parameters (lower(name), lower(value));

CREATE TABLE workspace_resources (
    id            TEXT COLLATE "C" PRIMARY KEY,
    job_id        TEXT COLLATE "C" NOT NULL REFERENCES provisioner_jobs (id),
    transition    TEXT COLLATE "C" NOT NULL,
    type          TEXT COLLATE "C" NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    hide          BIGINT NOT NULL DEFAULT 0,
    icon          TEXT COLLATE "C" NOT NULL DEFAULT '',
    instance_type TEXT COLLATE "C" NOT NULL DEFAULT '',
    daily_cost    BIGINT NOT NULL DEFAULT 0,
    -- [{key, value, sensitive}] in template order.
    metadata      TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    created_at    BIGINT NOT NULL
);
CREATE INDEX workspace_resources_job_idx ON workspace_resources (job_id);

CREATE TABLE workspace_agents (
    id                         TEXT COLLATE "C" PRIMARY KEY,
    resource_id                TEXT COLLATE "C" NOT NULL REFERENCES workspace_resources (id),
    parent_id                  TEXT COLLATE "C",
    name                       TEXT COLLATE "C" NOT NULL,
    -- SHA-256 of the agent's token; the token itself is shown once.
    auth_token_hash            BYTEA NOT NULL,
    architecture               TEXT COLLATE "C" NOT NULL,
    operating_system           TEXT COLLATE "C" NOT NULL,
    directory                  TEXT COLLATE "C" NOT NULL DEFAULT '',
    expanded_directory         TEXT COLLATE "C" NOT NULL DEFAULT '',
    environment_variables      TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    version                    TEXT COLLATE "C" NOT NULL DEFAULT '',
    api_version                TEXT COLLATE "C" NOT NULL DEFAULT '',
    instance_id                TEXT COLLATE "C" NOT NULL DEFAULT '',
    connection_timeout_seconds BIGINT NOT NULL DEFAULT 120,
    troubleshooting_url        TEXT COLLATE "C" NOT NULL DEFAULT '',
    motd_file                  TEXT COLLATE "C" NOT NULL DEFAULT '',
    display_apps               TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    subsystems                 TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    -- [{key, display_name, script, interval, timeout, order}]
    metadata                   TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    lifecycle_state            TEXT COLLATE "C" NOT NULL DEFAULT 'created',
    started_at                 BIGINT,
    ready_at                   BIGINT,
    first_connected_at         BIGINT,
    last_connected_at          BIGINT,
    disconnected_at            BIGINT,
    -- 1 while the built-in simulation drives this agent: it reports without
    -- heartbeats, so inactivity does not make it disconnected.
    simulated                  BIGINT NOT NULL DEFAULT 1,
    logs_length                BIGINT NOT NULL DEFAULT 0,
    logs_overflowed            BIGINT NOT NULL DEFAULT 0,
    display_order              BIGINT NOT NULL DEFAULT 0,
    created_at                 BIGINT NOT NULL,
    updated_at                 BIGINT NOT NULL
);
CREATE INDEX workspace_agents_resource_idx ON workspace_agents (resource_id);
CREATE UNIQUE INDEX workspace_agents_token_idx ON workspace_agents (auth_token_hash);

CREATE TABLE workspace_apps (
    id                    TEXT COLLATE "C" PRIMARY KEY,
    agent_id              TEXT COLLATE "C" NOT NULL REFERENCES workspace_agents (id),
    slug                  TEXT COLLATE "C" NOT NULL,
    display_name          TEXT COLLATE "C" NOT NULL DEFAULT '',
    command               TEXT COLLATE "C" NOT NULL DEFAULT '',
    url                   TEXT COLLATE "C" NOT NULL DEFAULT '',
    icon                  TEXT COLLATE "C" NOT NULL DEFAULT '',
    subdomain             BIGINT NOT NULL DEFAULT 0,
    sharing_level         TEXT COLLATE "C" NOT NULL DEFAULT 'owner',
    healthcheck_url       TEXT COLLATE "C" NOT NULL DEFAULT '',
    healthcheck_interval  BIGINT NOT NULL DEFAULT 0,
    healthcheck_threshold BIGINT NOT NULL DEFAULT 0,
    health                TEXT COLLATE "C" NOT NULL DEFAULT 'disabled',
    external              BIGINT NOT NULL DEFAULT 0,
    hidden                BIGINT NOT NULL DEFAULT 0,
    open_in               TEXT COLLATE "C" NOT NULL DEFAULT 'slim-window',
    group_name            TEXT COLLATE "C" NOT NULL DEFAULT '',
    tooltip               TEXT COLLATE "C" NOT NULL DEFAULT '',
    display_order         BIGINT NOT NULL DEFAULT 0,
    created_at            BIGINT NOT NULL
);
CREATE INDEX workspace_apps_agent_idx ON workspace_apps (agent_id);

CREATE TABLE workspace_app_statuses (
    -- SQLite's implicit rowid, which statements order by.
    rowid      BIGSERIAL NOT NULL,
    id                   TEXT COLLATE "C" PRIMARY KEY,
    created_at           BIGINT NOT NULL,
    workspace_id         TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
    agent_id             TEXT COLLATE "C" NOT NULL REFERENCES workspace_agents (id),
    app_id               TEXT COLLATE "C" NOT NULL REFERENCES workspace_apps (id),
    state                TEXT COLLATE "C" NOT NULL,
    message              TEXT COLLATE "C" NOT NULL DEFAULT '',
    uri                  TEXT COLLATE "C" NOT NULL DEFAULT '',
    icon                 TEXT COLLATE "C" NOT NULL DEFAULT '',
    needs_user_attention BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX workspace_app_statuses_workspace_idx ON workspace_app_statuses (workspace_id, created_at);
CREATE INDEX workspace_app_statuses_app_idx ON workspace_app_statuses (app_id, created_at);

CREATE TABLE workspace_agent_log_sources (
    id           TEXT COLLATE "C" NOT NULL,
    agent_id     TEXT COLLATE "C" NOT NULL REFERENCES workspace_agents (id),
    display_name TEXT COLLATE "C" NOT NULL,
    icon         TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (agent_id, id)
);

CREATE TABLE workspace_agent_scripts (
    id                 TEXT COLLATE "C" PRIMARY KEY,
    agent_id           TEXT COLLATE "C" NOT NULL REFERENCES workspace_agents (id),
    log_source_id      TEXT COLLATE "C" NOT NULL,
    log_path           TEXT COLLATE "C" NOT NULL DEFAULT '',
    script             TEXT COLLATE "C" NOT NULL DEFAULT '',
    cron               TEXT COLLATE "C" NOT NULL DEFAULT '',
    run_on_start       BIGINT NOT NULL DEFAULT 0,
    run_on_stop        BIGINT NOT NULL DEFAULT 0,
    start_blocks_login BIGINT NOT NULL DEFAULT 0,
    timeout_seconds    BIGINT NOT NULL DEFAULT 0,
    display_name       TEXT COLLATE "C" NOT NULL DEFAULT '',
    display_order      BIGINT NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL
);
CREATE INDEX workspace_agent_scripts_agent_idx ON workspace_agent_scripts (agent_id);

CREATE TABLE workspace_agent_script_timings (
    script_id  TEXT COLLATE "C" NOT NULL REFERENCES workspace_agent_scripts (id),
    agent_id   TEXT COLLATE "C" NOT NULL REFERENCES workspace_agents (id),
    started_at BIGINT NOT NULL,
    ended_at   BIGINT NOT NULL,
    exit_code  BIGINT NOT NULL,
    stage      TEXT COLLATE "C" NOT NULL,
    status     TEXT COLLATE "C" NOT NULL
);
CREATE INDEX workspace_agent_script_timings_agent_idx ON workspace_agent_script_timings (agent_id);

CREATE TABLE workspace_agent_logs (
    id            BIGSERIAL PRIMARY KEY,
    agent_id      TEXT COLLATE "C" NOT NULL REFERENCES workspace_agents (id),
    log_source_id TEXT COLLATE "C" NOT NULL,
    created_at    BIGINT NOT NULL,
    output        TEXT COLLATE "C" NOT NULL,
    level         TEXT COLLATE "C" NOT NULL
);
CREATE INDEX workspace_agent_logs_agent_idx ON workspace_agent_logs (agent_id, id);

-- A user's settings by key (Coder's user_configs): `terminal_font`.
CREATE TABLE user_configs (
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    key     TEXT COLLATE "C" NOT NULL,
    value   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- The results of an agent's `metadata` items (one row per key, made with the
-- agent; collected_at is Go's zero time until the first report).
CREATE TABLE workspace_agent_metadata (
    agent_id      TEXT COLLATE "C" NOT NULL REFERENCES workspace_agents (id),
    key           TEXT COLLATE "C" NOT NULL,
    display_name  TEXT COLLATE "C" NOT NULL DEFAULT '',
    script        TEXT COLLATE "C" NOT NULL DEFAULT '',
    interval      BIGINT NOT NULL DEFAULT 0,
    timeout       BIGINT NOT NULL DEFAULT 0,
    display_order BIGINT NOT NULL DEFAULT 0,
    value         TEXT COLLATE "C" NOT NULL DEFAULT '',
    error         TEXT COLLATE "C" NOT NULL DEFAULT '',
    collected_at  BIGINT NOT NULL,
    PRIMARY KEY (agent_id, key)
);
-- When each item is next due: the simulated agents' beat reads only those.
CREATE INDEX workspace_agent_metadata_due_idx ON workspace_agent_metadata ((collected_at + GREATEST(interval, 1) * 1000000));

-- The ports an agent last reported listening on.
CREATE TABLE workspace_agent_listening_ports (
    agent_id     TEXT COLLATE "C" NOT NULL REFERENCES workspace_agents (id),
    port         BIGINT NOT NULL,
    network      TEXT COLLATE "C" NOT NULL,
    process_name TEXT COLLATE "C" NOT NULL DEFAULT '',
    PRIMARY KEY (agent_id, port, network)
);

-- Ports of a workspace's agents shared beyond their owner.
CREATE TABLE workspace_agent_port_shares (
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
    agent_name   TEXT COLLATE "C" NOT NULL,
    port         BIGINT NOT NULL,
    share_level  TEXT COLLATE "C" NOT NULL,
    protocol     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, agent_name, port)
);

-- What the lifecycle executor did to a workspace and why (action: autostop,
-- autostart, dormant, dormancy, autodelete; reason: the rule that made it
-- due); the newest few per workspace are kept.
CREATE TABLE lifecycle_actions (
    id           BIGSERIAL PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
    build_id     TEXT COLLATE "C" REFERENCES workspace_builds (id),
    created_at   BIGINT NOT NULL,
    action       TEXT COLLATE "C" NOT NULL,
    reason       TEXT COLLATE "C" NOT NULL,
    detail       TEXT COLLATE "C" NOT NULL
);
CREATE INDEX lifecycle_actions_workspace_idx ON lifecycle_actions (workspace_id, id);

-- Custom organization roles: the organization-level permissions (a JSON
-- list of {negate, resource_type, action}) each grants its holders, who
-- name it in organization_members.roles. Names are unique per organization
-- whatever their case.
CREATE TABLE custom_roles (
    organization_id TEXT COLLATE "C" NOT NULL REFERENCES organizations (id),
    name            TEXT COLLATE "C" NOT NULL,
    display_name    TEXT COLLATE "C" NOT NULL DEFAULT '',
    org_permissions TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX custom_roles_name_idx ON custom_roles (organization_id, lower(name));
