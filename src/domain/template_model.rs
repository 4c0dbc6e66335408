//! What a template declares, as the built-in provisioner understands it: the
//! result of importing a template version, stored with the version and used
//! to materialise every build.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TemplateModel {
    /// `data "coder_parameter"` blocks, sorted by (order, name).
    pub parameters: Vec<Parameter>,
    /// Terraform `variable` blocks, in file order.
    pub variables: Vec<Variable>,
    /// `data "coder_workspace_preset"` blocks, in file order.
    pub presets: Vec<Preset>,
    /// Every `resource` that is not a `coder_*` bookkeeping resource, with the
    /// agents attached to it, in file order.
    pub resources: Vec<Resource>,
    /// README.md at the archive root, if any.
    pub readme: String,
    /// The template declares `resource "coder_ai_task"`.
    pub has_ai_task: bool,
    /// The template declares `resource "coder_external_agent"`.
    pub has_external_agent: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Parameter {
    pub name: String,
    pub display_name: String,
    pub description: String,
    /// `string`, `number`, `bool` or `list(string)`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `""`, `radio`, `slider`, `input`, `dropdown`, `checkbox`, `switch`,
    /// `multi-select`, `tag-select`, `textarea`, `error`.
    pub form_type: String,
    pub mutable: bool,
    pub ephemeral: bool,
    /// `None` when the block has no `default` (the parameter is required).
    /// Lists are JSON array text; numbers and bools their literal text.
    pub default_value: Option<String>,
    pub icon: String,
    pub order: i64,
    pub options: Vec<ParameterOption>,
    pub validation: Option<ParameterValidation>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParameterOption {
    pub name: String,
    pub description: String,
    pub value: String,
    pub icon: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParameterValidation {
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub regex: String,
    pub error: String,
    /// `""`, `increasing` or `decreasing`.
    pub monotonic: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Variable {
    pub name: String,
    pub description: String,
    /// `string`, `number` or `bool`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `None` when there is no default (the variable is required).
    pub default_value: Option<String>,
    pub sensitive: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Preset {
    pub name: String,
    /// Parameter name → value.
    pub parameters: BTreeMap<String, String>,
    pub default: bool,
    pub description: String,
    pub icon: String,
    /// `prebuilds { instances = N }`.
    pub prebuild_instances: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// Terraform resource type, e.g. `docker_container`.
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    /// From a `coder_metadata` block naming this resource.
    pub hide: bool,
    pub icon: String,
    pub daily_cost: i64,
    pub metadata: Vec<ResourceMetadata>,
    /// Agents whose `token` or `init_script` this resource references.
    pub agents: Vec<Agent>,
    /// The resource also exists while the workspace is stopped: its `count`
    /// is not tied to `data.coder_workspace.<x>.start_count`.
    pub persistent: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceMetadata {
    pub key: String,
    pub value: String,
    pub sensitive: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub name: String,
    pub os: String,
    pub arch: String,
    pub dir: String,
    /// `env` map plus every `coder_env` naming this agent.
    pub env: BTreeMap<String, String>,
    pub connection_timeout_seconds: i64,
    pub troubleshooting_url: String,
    pub motd_file: String,
    pub order: i64,
    pub display_apps: DisplayApps,
    pub metadata: Vec<AgentMetadata>,
    /// `coder_app` resources whose `agent_id` names this agent, file order.
    pub apps: Vec<App>,
    /// The agent's `startup_script` (as a script named "Startup Script") and
    /// every `coder_script` naming this agent, file order.
    pub scripts: Vec<Script>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisplayApps {
    pub vscode: bool,
    pub vscode_insiders: bool,
    pub web_terminal: bool,
    pub ssh_helper: bool,
    pub port_forwarding_helper: bool,
}

impl Default for DisplayApps {
    /// The coder provider's defaults.
    fn default() -> DisplayApps {
        DisplayApps {
            vscode: true,
            vscode_insiders: false,
            web_terminal: true,
            ssh_helper: true,
            port_forwarding_helper: true,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentMetadata {
    pub key: String,
    pub display_name: String,
    pub script: String,
    pub interval: i64,
    pub timeout: i64,
    pub order: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct App {
    pub slug: String,
    pub display_name: String,
    pub command: String,
    pub url: String,
    pub icon: String,
    pub subdomain: bool,
    /// `owner`, `authenticated`, `organization` or `public`.
    pub share: String,
    pub external: bool,
    pub hidden: bool,
    /// `slim-window` or `tab`.
    pub open_in: String,
    pub order: i64,
    pub group: String,
    pub healthcheck: Option<Healthcheck>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Healthcheck {
    pub url: String,
    pub interval: i64,
    pub threshold: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Script {
    pub display_name: String,
    pub icon: String,
    pub script: String,
    pub cron: String,
    pub run_on_start: bool,
    pub run_on_stop: bool,
    pub start_blocks_login: bool,
    pub timeout_seconds: i64,
    pub log_path: String,
}
