//! Imports a Coder Terraform template without running Terraform: the root
//! module's `*.tf` files are parsed as HCL and the `coder_*` declarations are
//! read statically into a [`TemplateModel`].
//!
//! Expressions are evaluated where their inputs are known at import time
//! (literals, `var.*`, `local.*` built from those, a few pure functions).
//! Anything that depends on the workspace, other resources or unsupported
//! functions is kept as source text instead, so an import never fails because
//! of an expression.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Component;

use hcl::eval::{Context, Evaluate, FuncArgs, FuncDef, ParamType};
use hcl::{Block, BlockLabel, Body, Expression, Map, ObjectKey, Template, TemplateExpr, Value};

use crate::domain::template_model::*;

/// Why a template archive could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// HCL syntax error, as `file:line,column: message`.
    #[error("{0}")]
    Syntax(String),
    /// Archive unreadable, no .tf files, etc.
    #[error("{0}")]
    Archive(String),
    /// Terraform variables without default and without a supplied value; holds their names.
    #[error("required template variables need values: {}", .0.join(", "))]
    MissingVariables(Vec<String>),
}

/// Resources that configure agents or the workspace instead of standing for
/// infrastructure, so they never become a [`Resource`].
const BOOKKEEPING_RESOURCES: &[&str] = &[
    "coder_agent",
    "coder_app",
    "coder_script",
    "coder_env",
    "coder_metadata",
    "coder_ai_task",
    "coder_external_agent",
    "coder_agent_instance",
    "coder_devcontainer",
];

/// Reads a template archive (as `coder templates push` uploads it).
///
/// `tar_bytes` holds `*.tf` files and optionally `README.md`; only files at the
/// archive root count, as Terraform only loads the root module's directory.
/// `variable_values` override the defaults of Terraform `variable` blocks.
pub fn import(
    tar_bytes: &[u8],
    variable_values: &[(String, String)],
) -> Result<TemplateModel, ImportError> {
    let sources = read_archive(tar_bytes)?;
    let mut blocks = Vec::new();
    for (file, text) in &sources.tf_files {
        let body = hcl::parse(text).map_err(|err| syntax_error(file, err))?;
        blocks.extend(body.into_blocks());
    }

    let (variables, var_values) = read_variables(&blocks, variable_values)?;
    let ev = Evaluator::new(var_values, &blocks);

    let mut model = TemplateModel {
        variables,
        readme: sources.readme,
        ..TemplateModel::default()
    };
    let mut agents = Vec::new();
    // Each resource with its formatted body, searched for agent references.
    let mut resources: Vec<(Resource, String)> = Vec::new();

    for block in &blocks {
        let fields = Fields::new(&block.body, &ev);
        match (block.identifier(), labels(block).as_slice()) {
            ("data", ["coder_parameter", name]) => model.parameters.push(parameter(&fields, name)),
            ("data", ["coder_workspace_preset", name]) => model.presets.push(preset(&fields, name)),
            ("resource", ["coder_agent", name]) => agents.push(agent(&fields, name)),
            ("resource", ["coder_ai_task", _]) => model.has_ai_task = true,
            ("resource", ["coder_external_agent", _]) => model.has_external_agent = true,
            ("resource", [kind, name]) if !BOOKKEEPING_RESOURCES.contains(kind) => {
                let persistent = fields
                    .expr("count")
                    .is_none_or(|count| !count.to_string().contains("start_count"));
                let resource = Resource {
                    kind: (*kind).to_owned(),
                    name: (*name).to_owned(),
                    persistent,
                    ..Resource::default()
                };
                let text = hcl::format::to_string(&block.body).unwrap_or_default();
                resources.push((resource, text));
            }
            _ => {}
        }
    }

    // Second pass: these may name agents and resources declared further down.
    for block in &blocks {
        let fields = Fields::new(&block.body, &ev);
        match (block.identifier(), labels(block).as_slice()) {
            ("resource", ["coder_app", name]) => {
                if let Some(agent) = agent_named(&mut agents, &fields) {
                    agent.apps.push(app(&fields, name));
                }
            }
            ("resource", ["coder_script", _]) => {
                if let Some(agent) = agent_named(&mut agents, &fields) {
                    agent.scripts.push(script(&fields));
                }
            }
            ("resource", ["coder_env", _]) => {
                if let Some(agent) = agent_named(&mut agents, &fields) {
                    agent
                        .env
                        .insert(fields.string("name"), fields.string("value"));
                }
            }
            ("resource", ["coder_metadata", _]) => {
                let Some((kind, name)) = fields.expr("resource_id").and_then(reference) else {
                    continue;
                };
                let target = resources
                    .iter_mut()
                    .find(|(r, _)| r.kind == kind && r.name == name);
                if let Some((resource, _)) = target {
                    apply_metadata(resource, &fields);
                }
            }
            _ => {}
        }
    }

    // Terraform would attach an agent to whatever consumes its token or init
    // script; the first such resource in file order stands in for that.
    let mut orphans = Vec::new();
    for agent in agents {
        let host = resources
            .iter_mut()
            .find(|(_, text)| references_agent(text, &agent.name));
        match host {
            Some((resource, _)) => resource.agents.push(agent),
            None => orphans.push(Resource {
                kind: "null_resource".to_owned(),
                name: agent.name.clone(),
                persistent: false,
                agents: vec![agent],
                ..Resource::default()
            }),
        }
    }
    model.resources = resources
        .into_iter()
        .map(|(resource, _)| resource)
        .collect();
    model.resources.extend(orphans);
    model
        .parameters
        .sort_by(|a, b| (a.order, &a.name).cmp(&(b.order, &b.name)));
    Ok(model)
}

struct Sources {
    /// Root-level `.tf` files by name; sorted, as Terraform loads them.
    tf_files: BTreeMap<String, String>,
    readme: String,
}

fn read_archive(tar_bytes: &[u8]) -> Result<Sources, ImportError> {
    let unreadable =
        |err: std::io::Error| ImportError::Archive(format!("read template archive: {err}"));
    let mut sources = Sources {
        tf_files: BTreeMap::new(),
        readme: String::new(),
    };
    let mut archive = tar::Archive::new(tar_bytes);
    for entry in archive.entries().map_err(unreadable)? {
        let mut entry = entry.map_err(unreadable)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(unreadable)?.into_owned();
        let mut parts = path
            .components()
            .filter(|c| !matches!(c, Component::CurDir));
        let (Some(Component::Normal(name)), None) = (parts.next(), parts.next()) else {
            continue; // not at the root, e.g. `.terraform/modules/...`
        };
        let Some(name) = name.to_str().map(str::to_owned) else {
            continue;
        };
        if name == "README.md" {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(unreadable)?;
            sources.readme = String::from_utf8_lossy(&bytes).into_owned();
        } else if name.ends_with(".tf") && !ignored_by_terraform(&name) {
            let mut text = String::new();
            entry.read_to_string(&mut text).map_err(|err| {
                ImportError::Archive(format!("read {name} from template archive: {err}"))
            })?;
            sources.tf_files.insert(name, text);
        }
    }
    if sources.tf_files.is_empty() {
        return Err(ImportError::Archive(
            "template archive has no .tf files at its root".to_owned(),
        ));
    }
    Ok(sources)
}

/// Terraform skips hidden files and editor backups (e.g. macOS `._main.tf`).
fn ignored_by_terraform(name: &str) -> bool {
    name.starts_with('.') || name.ends_with('~') || (name.starts_with('#') && name.ends_with('#'))
}

fn syntax_error(file: &str, err: hcl::Error) -> ImportError {
    match err {
        hcl::Error::Parse(err) => {
            let at = err.location();
            ImportError::Syntax(format!(
                "{file}:{},{}: {}",
                at.line(),
                at.column(),
                err.message()
            ))
        }
        other => ImportError::Syntax(format!("{file}: {other}")),
    }
}

fn labels(block: &Block) -> Vec<&str> {
    block.labels.iter().map(BlockLabel::as_str).collect()
}

/// Reads `variable` blocks and settles each one's value: supplied, else default.
fn read_variables(
    blocks: &[Block],
    supplied: &[(String, String)],
) -> Result<(Vec<Variable>, Map<String, Value>), ImportError> {
    // Defaults cannot refer to anything, so an empty context suffices.
    let ev = Evaluator::new(Map::new(), &[]);
    let mut variables = Vec::new();
    let mut values = Map::new();
    let mut missing = Vec::new();
    for block in blocks.iter().filter(|b| b.identifier() == "variable") {
        let [name] = labels(block)[..] else { continue };
        let fields = Fields::new(&block.body, &ev);
        let type_text = fields.expr("type").map(|expr| match expr {
            Expression::String(s) => s.clone(),
            expr => expr.to_string(),
        });
        let type_text = type_text.as_deref().unwrap_or("string");
        let default = fields
            .expr("default")
            .map(|expr| ev.value(expr).unwrap_or_else(|| ev.text(expr).into()));

        let value = match supplied.iter().rev().find(|(n, _)| n == name) {
            Some((_, raw)) => Some(typed_value(type_text, raw)),
            None => default.clone(),
        };
        match value {
            Some(value) => {
                values.insert(name.to_owned(), value);
            }
            None => missing.push(name.to_owned()),
        }
        variables.push(Variable {
            name: name.to_owned(),
            description: fields.string("description"),
            kind: match type_text {
                "number" | "bool" => type_text.to_owned(),
                _ => "string".to_owned(),
            },
            default_value: default.as_ref().map(value_text),
            sensitive: fields.bool_or("sensitive", false),
        });
    }
    if !missing.is_empty() {
        return Err(ImportError::MissingVariables(missing));
    }
    Ok((variables, values))
}

/// Converts a supplied variable value (always text) to the declared type.
fn typed_value(type_text: &str, raw: &str) -> Value {
    let parsed = match type_text {
        "number" => parse_number(raw),
        "bool" => parse_bool(raw).map(Value::Bool),
        "string" => None,
        // Collections are supplied as JSON, as with `terraform -var`.
        _ => serde_json::from_str(raw).ok(),
    };
    parsed.unwrap_or_else(|| Value::String(raw.to_owned()))
}

fn parse_number(raw: &str) -> Option<Value> {
    let raw = raw.trim();
    raw.parse::<i64>()
        .map(Value::from)
        .or_else(|_| raw.parse::<f64>().map(Value::from))
        .ok()
}

fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn parameter(f: &Fields, label: &str) -> Parameter {
    Parameter {
        name: f.opt_string("name").unwrap_or_else(|| label.to_owned()),
        display_name: f.string("display_name"),
        description: f.string("description"),
        kind: f.string_or("type", "string"),
        form_type: f.string("form_type"),
        mutable: f.bool_or("mutable", false),
        ephemeral: f.bool_or("ephemeral", false),
        default_value: f.opt_string("default"),
        icon: f.string("icon"),
        order: f.int_or("order", 0),
        options: f
            .blocks("option")
            .map(|o| ParameterOption {
                name: o.string("name"),
                description: o.string("description"),
                value: o.string("value"),
                icon: o.string("icon"),
            })
            .collect(),
        validation: f.blocks("validation").next().map(|v| ParameterValidation {
            min: v.int("min"),
            max: v.int("max"),
            regex: v.string("regex"),
            error: v.string("error"),
            monotonic: v.string("monotonic"),
        }),
    }
}

fn preset(f: &Fields, label: &str) -> Preset {
    Preset {
        name: f.opt_string("name").unwrap_or_else(|| label.to_owned()),
        parameters: f.map("parameters"),
        default: f.bool_or("default", false),
        description: f.string("description"),
        icon: f.string("icon"),
        prebuild_instances: f
            .blocks("prebuilds")
            .next()
            .and_then(|p| p.int("instances")),
    }
}

fn agent(f: &Fields, name: &str) -> Agent {
    let defaults = DisplayApps::default();
    let display_apps = match f.blocks("display_apps").next() {
        Some(d) => DisplayApps {
            vscode: d.bool_or("vscode", defaults.vscode),
            vscode_insiders: d.bool_or("vscode_insiders", defaults.vscode_insiders),
            web_terminal: d.bool_or("web_terminal", defaults.web_terminal),
            ssh_helper: d.bool_or("ssh_helper", defaults.ssh_helper),
            port_forwarding_helper: d
                .bool_or("port_forwarding_helper", defaults.port_forwarding_helper),
        },
        None => defaults,
    };

    // The provider's legacy `login_before_ready = false` meant what
    // `startup_script_behavior = "blocking"` means now.
    let blocking = match f.opt_string("startup_script_behavior") {
        Some(behavior) => behavior == "blocking",
        None => f.expr("login_before_ready").is_some() && !f.bool_or("login_before_ready", true),
    };
    let mut scripts = Vec::new();
    let startup = f.string("startup_script");
    if !startup.is_empty() {
        scripts.push(Script {
            display_name: "Startup Script".to_owned(),
            icon: "/emojis/25b6.png".to_owned(),
            script: startup,
            run_on_start: true,
            start_blocks_login: blocking,
            log_path: "coder-startup-script.log".to_owned(),
            ..Script::default()
        });
    }
    let shutdown = f.string("shutdown_script");
    if !shutdown.is_empty() {
        scripts.push(Script {
            display_name: "Shutdown Script".to_owned(),
            icon: "/emojis/25c0.png".to_owned(),
            script: shutdown,
            run_on_stop: true,
            log_path: "coder-shutdown-script.log".to_owned(),
            ..Script::default()
        });
    }

    Agent {
        name: name.to_owned(),
        os: f.string("os"),
        arch: f.string("arch"),
        dir: f.string("dir"),
        env: f.map("env"),
        connection_timeout_seconds: f.int_or("connection_timeout", 120),
        troubleshooting_url: f.string("troubleshooting_url"),
        motd_file: f.string("motd_file"),
        order: f.int_or("order", 0),
        display_apps,
        metadata: f
            .blocks("metadata")
            .map(|m| AgentMetadata {
                key: m.string("key"),
                display_name: m.string("display_name"),
                script: m.string("script"),
                interval: m.int_or("interval", 0),
                timeout: m.int_or("timeout", 1),
                order: m.int_or("order", 0),
            })
            .collect(),
        apps: Vec::new(),
        scripts,
    }
}

fn app(f: &Fields, label: &str) -> App {
    let slug = f.opt_string("slug").unwrap_or_else(|| label.to_owned());
    // `name` is the provider's deprecated spelling of `display_name`.
    let display_name = f
        .opt_string("display_name")
        .or_else(|| f.opt_string("name"))
        .unwrap_or_else(|| slug.clone());
    App {
        display_name,
        command: f.string("command"),
        url: f.string("url"),
        icon: f.string("icon"),
        subdomain: f.bool_or("subdomain", false),
        share: f.string_or("share", "owner"),
        external: f.bool_or("external", false),
        hidden: f.bool_or("hidden", false),
        open_in: f.string_or("open_in", "slim-window"),
        order: f.int_or("order", 0),
        group: f.string("group"),
        healthcheck: f.blocks("healthcheck").next().map(|h| Healthcheck {
            url: h.string("url"),
            interval: h.int_or("interval", 0),
            threshold: h.int_or("threshold", 0),
        }),
        slug,
    }
}

fn script(f: &Fields) -> Script {
    Script {
        display_name: f.string("display_name"),
        icon: f.string("icon"),
        script: f.string("script"),
        cron: f.string("cron"),
        run_on_start: f.bool_or("run_on_start", false),
        run_on_stop: f.bool_or("run_on_stop", false),
        start_blocks_login: f.bool_or("start_blocks_login", false),
        timeout_seconds: f.int_or("timeout", 0),
        log_path: f.string("log_path"),
    }
}

fn apply_metadata(resource: &mut Resource, f: &Fields) {
    resource.hide = f.bool_or("hide", false);
    resource.icon = f.string("icon");
    resource.daily_cost = f.int_or("daily_cost", 0);
    resource.metadata = f
        .blocks("item")
        .map(|item| ResourceMetadata {
            key: item.string("key"),
            value: item.string("value"),
            sensitive: item.bool_or("sensitive", false),
        })
        .collect();
}

/// The agent named by the block's `agent_id = coder_agent.<name>.id`.
fn agent_named<'a>(agents: &'a mut [Agent], f: &Fields) -> Option<&'a mut Agent> {
    let (kind, name) = f.expr("agent_id").and_then(reference)?;
    if kind != "coder_agent" {
        return None;
    }
    agents.iter_mut().find(|agent| agent.name == name)
}

/// The `(type, name)` of the resource an expression such as
/// `docker_container.workspace[0].id` or `"${coder_agent.main.id}"` refers to.
fn reference(expr: &Expression) -> Option<(String, String)> {
    let text = expr.to_string();
    let text = text.trim();
    let text = text
        .strip_prefix("\"${")
        .and_then(|t| t.strip_suffix("}\""))
        .unwrap_or(text)
        .trim();
    let (kind, rest) = text.split_once('.')?;
    let name: String = rest.chars().take_while(|&c| is_ident_char(c)).collect();
    let valid = !kind.is_empty() && kind.chars().all(is_ident_char) && !name.is_empty();
    valid.then(|| (kind.to_owned(), name))
}

/// Whether configuration text uses an attribute of `coder_agent.<agent>`.
fn references_agent(text: &str, agent: &str) -> bool {
    let needle = format!("coder_agent.{agent}");
    text.match_indices(&needle).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + needle.len()..].chars().next();
        !before.is_some_and(|c| is_ident_char(c) || c == '.') && matches!(after, Some('.' | '['))
    })
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// Evaluates expressions against what is known at import time.
struct Evaluator {
    ctx: Context<'static>,
}

impl Evaluator {
    /// A context with `var` and every `local` that can be computed from it.
    fn new(vars: Map<String, Value>, blocks: &[Block]) -> Evaluator {
        let mut pending: Vec<_> = blocks
            .iter()
            .filter(|b| b.identifier() == "locals")
            .flat_map(|b| b.body.attributes())
            .collect();
        let mut locals = Map::new();
        let mut ev = Evaluator::with(&vars, &locals);
        // Locals may use each other in any order: resolve them in rounds
        // until a round makes no progress.
        loop {
            let mut resolved = Vec::new();
            pending.retain(|attr| match ev.value(attr.expr()) {
                Some(value) => {
                    resolved.push((attr.key().to_owned(), value));
                    false
                }
                None => true,
            });
            if resolved.is_empty() {
                return ev;
            }
            locals.extend(resolved);
            ev = Evaluator::with(&vars, &locals);
        }
    }

    fn with(vars: &Map<String, Value>, locals: &Map<String, Value>) -> Evaluator {
        let mut ctx = Context::new();
        ctx.declare_var("var", Value::Object(vars.clone()));
        ctx.declare_var("local", Value::Object(locals.clone()));
        ctx.declare_func("jsonencode", FuncDef::new(jsonencode, [ParamType::Any]));
        ctx.declare_func("trimspace", FuncDef::new(trimspace, [ParamType::String]));
        ctx.declare_func("lower", FuncDef::new(lower, [ParamType::String]));
        ctx.declare_func("upper", FuncDef::new(upper, [ParamType::String]));
        ctx.declare_func("tostring", FuncDef::new(tostring, [ParamType::Any]));
        let join_params = [ParamType::String, ParamType::array_of(ParamType::Any)];
        ctx.declare_func("join", FuncDef::new(join, join_params));
        let coalesce_def = FuncDef::builder()
            .variadic_param(ParamType::Any)
            .build(coalesce);
        ctx.declare_func("coalesce", coalesce_def);
        Evaluator { ctx }
    }

    /// The value, if everything the expression needs is known.
    fn value(&self, expr: &Expression) -> Option<Value> {
        expr.evaluate(&self.ctx).ok()
    }

    /// The value as text, or else the best source text for the expression.
    fn text(&self, expr: &Expression) -> String {
        match (self.value(expr), expr) {
            (Some(value), _) => value_text(&value),
            (None, Expression::TemplateExpr(template)) => self.template_text(template),
            (None, expr) => expr.to_string(),
        }
    }

    /// A template with whatever can be evaluated filled in; the rest stays as
    /// `${...}` / `%{...}` source, e.g. `/home/${data.coder_workspace_owner.me.name}`.
    fn template_text(&self, expr: &TemplateExpr) -> String {
        let Ok(template) = Template::from_expr(expr) else {
            return expr.to_string();
        };
        template
            .elements()
            .iter()
            .map(|element| {
                let part = Template::from_iter([element.clone()]);
                part.evaluate(&self.ctx)
                    .unwrap_or_else(|_| part.to_string())
            })
            .collect()
    }
}

fn value_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(_) | Value::Object(_) => to_json(value).to_string(),
    }
}

/// Terraform's `jsonencode` layout: compact, object keys sorted.
fn to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.into(),
            (None, Some(u), _) => u.into(),
            (None, None, f) => f.into(),
        },
        Value::String(s) => s.as_str().into(),
        Value::Array(items) => items.iter().map(to_json).collect(),
        Value::Object(entries) => {
            let sorted: BTreeMap<_, _> = entries.iter().collect();
            sorted
                .into_iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect::<serde_json::Map<_, _>>()
                .into()
        }
    }
}

fn arg_str(args: &FuncArgs) -> &str {
    args[0].as_str().unwrap_or_default()
}

fn jsonencode(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::String(to_json(&args[0]).to_string()))
}

fn trimspace(args: FuncArgs) -> Result<Value, String> {
    Ok(arg_str(&args).trim().into())
}

fn lower(args: FuncArgs) -> Result<Value, String> {
    Ok(arg_str(&args).to_lowercase().into())
}

fn upper(args: FuncArgs) -> Result<Value, String> {
    Ok(arg_str(&args).to_uppercase().into())
}

fn tostring(args: FuncArgs) -> Result<Value, String> {
    match &args[0] {
        Value::Array(_) | Value::Object(_) => Err("tostring: not a primitive value".to_owned()),
        value => Ok(value_text(value).into()),
    }
}

fn join(args: FuncArgs) -> Result<Value, String> {
    let items = args[1].as_array().map(Vec::as_slice).unwrap_or_default();
    let parts: Vec<String> = items.iter().map(value_text).collect();
    Ok(parts.join(arg_str(&args)).into())
}

/// Terraform's `coalesce`: the first argument that is neither null nor "".
fn coalesce(args: FuncArgs) -> Result<Value, String> {
    args.iter()
        .find(|v| !v.is_null() && v.as_str() != Some(""))
        .cloned()
        .ok_or_else(|| "coalesce: no non-null, non-empty argument".to_owned())
}

/// The attributes and nested blocks of one block body, read through an
/// [`Evaluator`] with the coder provider's lenient conversions.
struct Fields<'a> {
    body: &'a Body,
    ev: &'a Evaluator,
}

impl<'a> Fields<'a> {
    fn new(body: &'a Body, ev: &'a Evaluator) -> Fields<'a> {
        Fields { body, ev }
    }

    fn expr(&self, key: &str) -> Option<&'a Expression> {
        self.body
            .attributes()
            .find(|attr| attr.key() == key)
            .map(|attr| attr.expr())
    }

    fn blocks(&self, identifier: &'a str) -> impl Iterator<Item = Fields<'a>> + 'a {
        let ev = self.ev;
        self.body
            .blocks()
            .filter(move |b| b.identifier() == identifier)
            .map(move |b| Fields::new(&b.body, ev))
    }

    /// `None` when the attribute is absent or null.
    fn opt_string(&self, key: &str) -> Option<String> {
        let expr = self.expr(key)?;
        match self.ev.value(expr) {
            Some(Value::Null) => None,
            Some(value) => Some(value_text(&value)),
            None => Some(self.ev.text(expr)),
        }
    }

    fn string(&self, key: &str) -> String {
        self.opt_string(key).unwrap_or_default()
    }

    fn string_or(&self, key: &str, default: &str) -> String {
        self.opt_string(key).unwrap_or_else(|| default.to_owned())
    }

    fn bool_or(&self, key: &str, default: bool) -> bool {
        match self.expr(key).and_then(|expr| self.ev.value(expr)) {
            Some(Value::Bool(b)) => b,
            Some(Value::String(s)) => parse_bool(&s).unwrap_or(default),
            _ => default,
        }
    }

    fn int(&self, key: &str) -> Option<i64> {
        let number = match self.ev.value(self.expr(key)?)? {
            Value::String(s) => parse_number(&s)?,
            value => value,
        };
        let number = number.as_number()?;
        // Saturating cast: fractional numbers truncate toward zero.
        number
            .as_i64()
            .or_else(|| number.as_f64().map(|f| f as i64))
    }

    fn int_or(&self, key: &str, default: i64) -> i64 {
        self.int(key).unwrap_or(default)
    }

    /// An object attribute as text values; entries that cannot be evaluated
    /// keep their source text.
    fn map(&self, key: &str) -> BTreeMap<String, String> {
        let Some(expr) = self.expr(key) else {
            return BTreeMap::new();
        };
        if let Some(Value::Object(entries)) = self.ev.value(expr) {
            return entries
                .iter()
                .map(|(k, v)| (k.clone(), value_text(v)))
                .collect();
        }
        let Expression::Object(entries) = expr else {
            return BTreeMap::new();
        };
        entries
            .iter()
            .map(|(k, v)| {
                let key = match k {
                    ObjectKey::Identifier(ident) => ident.as_str().to_owned(),
                    ObjectKey::Expression(expr) => self.ev.text(expr),
                    _ => k.to_string(),
                };
                (key, self.ev.text(v))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(files: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            builder
                .append_data(&mut header, path, data.as_bytes())
                .unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn import_files(files: &[(&str, &str)]) -> Result<TemplateModel, ImportError> {
        import(&tar_of(files), &[])
    }

    const DOCKER_MAIN_TF: &str = r#"
terraform {
  required_providers {
    coder = {
      source = "coder/coder"
    }
    docker = {
      source = "kreuzwerker/docker"
    }
  }
}

locals {
  username = data.coder_workspace_owner.me.name
  home     = "/home/${var.user}"
}

variable "docker_socket" {
  default     = ""
  description = "(Optional) Docker socket URI"
  type        = string
}

variable "image" {
  description = "Base image"
  type        = string
  default     = "codercom/enterprise-base:ubuntu"
}

variable "cpus" {
  type      = number
  default   = 2
  sensitive = true
}

provider "docker" {
  host = var.docker_socket != "" ? var.docker_socket : null
}

data "coder_provisioner" "me" {}
data "coder_workspace" "me" {}
data "coder_workspace_owner" "me" {}

data "coder_parameter" "region" {
  name         = "region"
  display_name = "Region"
  description  = "Where the workspace runs."
  type         = "string"
  form_type    = "radio"
  default      = "eu"
  icon         = "/emojis/1f30e.png"
  mutable      = true
  order        = 2
  option {
    name  = "Europe"
    value = "eu"
    icon  = "/emojis/1f1ea-1f1fa.png"
  }
  option {
    name        = "United States"
    description = "Virginia"
    value       = "us"
  }
  validation {
    regex = "^(eu|us)$"
    error = "Pick a listed region."
  }
}

data "coder_parameter" "disk_size" {
  name         = "disk_size"
  display_name = "Disk size (GB)"
  type         = "number"
  form_type    = "slider"
  default      = 10
  mutable      = true
  order        = 1
  validation {
    min       = 5
    max       = 100
    monotonic = "increasing"
  }
}

data "coder_parameter" "repos" {
  name      = "repos"
  type      = "list(string)"
  form_type = "tag-select"
  default   = jsonencode(["coder/coder", "coder/modules"])
  ephemeral = true
  order     = 1
}

data "coder_parameter" "dotfiles" {
  description = "Dotfiles repository"
}

data "coder_workspace_preset" "fast" {
  name        = "Fast"
  description = "A bigger disk in the US"
  icon        = "/emojis/26a1.png"
  default     = true
  parameters = {
    region    = "us"
    disk_size = 20
  }
  prebuilds {
    instances = 2
  }
}

resource "coder_agent" "main" {
  arch                    = data.coder_provisioner.me.arch
  os                      = "linux"
  dir                     = local.home
  connection_timeout      = 300
  troubleshooting_url     = "https://coder.com/docs/troubleshooting"
  motd_file               = "/etc/motd"
  startup_script_behavior = "blocking"
  startup_script          = <<-EOT
    set -e

    if [ ! -f ~/.init_done ]; then
      cp -rT /etc/skel ~
      touch ~/.init_done
    fi
    echo "image ${var.image}"
  EOT
  shutdown_script         = "echo bye"

  env = {
    GIT_AUTHOR_NAME  = coalesce(data.coder_workspace_owner.me.full_name, data.coder_workspace_owner.me.name)
    GIT_AUTHOR_EMAIL = "${data.coder_workspace_owner.me.email}"
    EDITOR           = "vim"
    CPUS             = var.cpus
  }

  display_apps {
    vscode_insiders = true
    ssh_helper      = false
  }

  metadata {
    display_name = "CPU Usage"
    key          = "0_cpu_usage"
    script       = "coder stat cpu"
    interval     = 10
    timeout      = 1
  }

  metadata {
    display_name = "Home Disk"
    key          = "3_home_disk"
    script       = "coder stat disk --path $${HOME}"
    interval     = 60
    order        = 2
  }
}

resource "coder_app" "code-server" {
  agent_id     = coder_agent.main.id
  slug         = "code-server"
  display_name = "code-server"
  url          = "http://localhost:13337/?folder=/home/${local.username}"
  icon         = "/icon/code.svg"
  subdomain    = false
  share        = "authenticated"
  order        = 1

  healthcheck {
    url       = "http://localhost:13337/healthz"
    interval  = 5
    threshold = 6
  }
}

resource "coder_app" "htop" {
  agent_id     = coder_agent.main.id
  display_name = "htop"
  command      = "htop"
  icon         = "/icon/htop.svg"
  open_in      = "tab"
  group        = "Tools"
  hidden       = "true"
}

resource "coder_script" "dotfiles" {
  agent_id           = coder_agent.main.id
  display_name       = "Dotfiles"
  icon               = "/icon/dotfiles.svg"
  script             = "coder dotfiles -y ${data.coder_parameter.dotfiles.value}"
  cron               = "0 4 * * *"
  run_on_start       = true
  start_blocks_login = true
  timeout            = "90"
  log_path           = "dotfiles.log"
}

resource "coder_env" "welcome" {
  agent_id = coder_agent.main.id
  name     = "WELCOME"
  value    = "hi ${var.user}"
}

module "code-server" {
  count    = data.coder_workspace.me.start_count
  source   = "registry.coder.com/coder/code-server/coder"
  version  = "~> 1.0"
  agent_id = coder_agent.main.id
}

resource "docker_volume" "home_volume" {
  name = "coder-${data.coder_workspace.me.id}-home"
  lifecycle {
    ignore_changes = all
  }
}

resource "docker_container" "workspace" {
  count      = data.coder_workspace.me.start_count
  image      = var.image
  name       = "coder-${data.coder_workspace_owner.me.name}-${lower(data.coder_workspace.me.name)}"
  entrypoint = ["sh", "-c", replace(coder_agent.main.init_script, "/localhost|127\\.0\\.0\\.1/", "host.docker.internal")]
  env        = ["CODER_AGENT_TOKEN=${coder_agent.main.token}"]
  volumes {
    container_path = "/home/coder"
    volume_name    = docker_volume.home_volume.name
  }
}

resource "coder_metadata" "container_info" {
  count       = data.coder_workspace.me.start_count
  resource_id = docker_container.workspace[0].id
  icon        = "/icon/docker.svg"
  daily_cost  = 12
  item {
    key   = "image"
    value = var.image
  }
  item {
    key       = "password"
    value     = "hunter2"
    sensitive = true
  }
}

resource "coder_agent" "sidecar" {
  os   = "linux"
  arch = "amd64"
}
"#;

    const DOCKER_VARIABLES_TF: &str = r#"
variable "user" {
  description = "Login user"
}
"#;

    #[test]
    fn imports_docker_like_template() {
        let tar = tar_of(&[
            ("./main.tf", DOCKER_MAIN_TF),
            ("variables.tf", DOCKER_VARIABLES_TF),
            ("modules/unused/main.tf", "this is { not hcl"),
            (".terraform/modules/x/main.tf", "nor { this"),
        ]);
        let model = import(&tar, &[("user".to_owned(), "coder".to_owned())]).unwrap();

        assert_eq!(
            model.variables,
            vec![
                Variable {
                    name: "docker_socket".into(),
                    description: "(Optional) Docker socket URI".into(),
                    kind: "string".into(),
                    default_value: Some(String::new()),
                    sensitive: false,
                },
                Variable {
                    name: "image".into(),
                    description: "Base image".into(),
                    kind: "string".into(),
                    default_value: Some("codercom/enterprise-base:ubuntu".into()),
                    sensitive: false,
                },
                Variable {
                    name: "cpus".into(),
                    description: String::new(),
                    kind: "number".into(),
                    default_value: Some("2".into()),
                    sensitive: true,
                },
                Variable {
                    name: "user".into(),
                    description: "Login user".into(),
                    kind: "string".into(),
                    default_value: None,
                    sensitive: false,
                },
            ]
        );

        assert_eq!(
            model.parameters,
            vec![
                Parameter {
                    name: "dotfiles".into(),
                    description: "Dotfiles repository".into(),
                    kind: "string".into(),
                    ..Parameter::default()
                },
                Parameter {
                    name: "disk_size".into(),
                    display_name: "Disk size (GB)".into(),
                    kind: "number".into(),
                    form_type: "slider".into(),
                    mutable: true,
                    default_value: Some("10".into()),
                    order: 1,
                    validation: Some(ParameterValidation {
                        min: Some(5),
                        max: Some(100),
                        monotonic: "increasing".into(),
                        ..ParameterValidation::default()
                    }),
                    ..Parameter::default()
                },
                Parameter {
                    name: "repos".into(),
                    kind: "list(string)".into(),
                    form_type: "tag-select".into(),
                    ephemeral: true,
                    default_value: Some(r#"["coder/coder","coder/modules"]"#.into()),
                    order: 1,
                    ..Parameter::default()
                },
                Parameter {
                    name: "region".into(),
                    display_name: "Region".into(),
                    description: "Where the workspace runs.".into(),
                    kind: "string".into(),
                    form_type: "radio".into(),
                    mutable: true,
                    ephemeral: false,
                    default_value: Some("eu".into()),
                    icon: "/emojis/1f30e.png".into(),
                    order: 2,
                    options: vec![
                        ParameterOption {
                            name: "Europe".into(),
                            description: String::new(),
                            value: "eu".into(),
                            icon: "/emojis/1f1ea-1f1fa.png".into(),
                        },
                        ParameterOption {
                            name: "United States".into(),
                            description: "Virginia".into(),
                            value: "us".into(),
                            icon: String::new(),
                        },
                    ],
                    validation: Some(ParameterValidation {
                        min: None,
                        max: None,
                        regex: "^(eu|us)$".into(),
                        error: "Pick a listed region.".into(),
                        monotonic: String::new(),
                    }),
                },
            ]
        );

        assert_eq!(
            model.presets,
            vec![Preset {
                name: "Fast".into(),
                parameters: BTreeMap::from([
                    ("disk_size".into(), "20".into()),
                    ("region".into(), "us".into()),
                ]),
                default: true,
                description: "A bigger disk in the US".into(),
                icon: "/emojis/26a1.png".into(),
                prebuild_instances: Some(2),
            }]
        );

        let main = Agent {
            name: "main".into(),
            os: "linux".into(),
            arch: "data.coder_provisioner.me.arch".into(),
            dir: "/home/coder".into(),
            env: BTreeMap::from([
                ("CPUS".into(), "2".into()),
                ("EDITOR".into(), "vim".into()),
                (
                    "GIT_AUTHOR_EMAIL".into(),
                    "${data.coder_workspace_owner.me.email}".into(),
                ),
                (
                    "GIT_AUTHOR_NAME".into(),
                    "coalesce(data.coder_workspace_owner.me.full_name, data.coder_workspace_owner.me.name)"
                        .into(),
                ),
                ("WELCOME".into(), "hi coder".into()),
            ]),
            connection_timeout_seconds: 300,
            troubleshooting_url: "https://coder.com/docs/troubleshooting".into(),
            motd_file: "/etc/motd".into(),
            order: 0,
            display_apps: DisplayApps {
                vscode: true,
                vscode_insiders: true,
                web_terminal: true,
                ssh_helper: false,
                port_forwarding_helper: true,
            },
            metadata: vec![
                AgentMetadata {
                    key: "0_cpu_usage".into(),
                    display_name: "CPU Usage".into(),
                    script: "coder stat cpu".into(),
                    interval: 10,
                    timeout: 1,
                    order: 0,
                },
                AgentMetadata {
                    key: "3_home_disk".into(),
                    display_name: "Home Disk".into(),
                    script: "coder stat disk --path ${HOME}".into(),
                    interval: 60,
                    timeout: 1,
                    order: 2,
                },
            ],
            apps: vec![
                App {
                    slug: "code-server".into(),
                    display_name: "code-server".into(),
                    command: String::new(),
                    url: "http://localhost:13337/?folder=/home/${local.username}".into(),
                    icon: "/icon/code.svg".into(),
                    subdomain: false,
                    share: "authenticated".into(),
                    external: false,
                    hidden: false,
                    open_in: "slim-window".into(),
                    order: 1,
                    group: String::new(),
                    healthcheck: Some(Healthcheck {
                        url: "http://localhost:13337/healthz".into(),
                        interval: 5,
                        threshold: 6,
                    }),
                },
                App {
                    slug: "htop".into(),
                    display_name: "htop".into(),
                    command: "htop".into(),
                    url: String::new(),
                    icon: "/icon/htop.svg".into(),
                    subdomain: false,
                    share: "owner".into(),
                    external: false,
                    hidden: true,
                    open_in: "tab".into(),
                    order: 0,
                    group: "Tools".into(),
                    healthcheck: None,
                },
            ],
            scripts: vec![
                Script {
                    display_name: "Startup Script".into(),
                    icon: "/emojis/25b6.png".into(),
                    script: "set -e\n\nif [ ! -f ~/.init_done ]; then\n  cp -rT /etc/skel ~\n  \
                             touch ~/.init_done\nfi\necho \"image codercom/enterprise-base:ubuntu\"\n"
                        .into(),
                    cron: String::new(),
                    run_on_start: true,
                    run_on_stop: false,
                    start_blocks_login: true,
                    timeout_seconds: 0,
                    log_path: "coder-startup-script.log".into(),
                },
                Script {
                    display_name: "Shutdown Script".into(),
                    icon: "/emojis/25c0.png".into(),
                    script: "echo bye".into(),
                    run_on_stop: true,
                    log_path: "coder-shutdown-script.log".into(),
                    ..Script::default()
                },
                Script {
                    display_name: "Dotfiles".into(),
                    icon: "/icon/dotfiles.svg".into(),
                    script: "coder dotfiles -y ${data.coder_parameter.dotfiles.value}".into(),
                    cron: "0 4 * * *".into(),
                    run_on_start: true,
                    run_on_stop: false,
                    start_blocks_login: true,
                    timeout_seconds: 90,
                    log_path: "dotfiles.log".into(),
                },
            ],
        };
        let sidecar = Agent {
            name: "sidecar".into(),
            os: "linux".into(),
            arch: "amd64".into(),
            connection_timeout_seconds: 120,
            display_apps: DisplayApps::default(),
            ..Agent::default()
        };
        assert_eq!(
            model.resources,
            vec![
                Resource {
                    kind: "docker_volume".into(),
                    name: "home_volume".into(),
                    persistent: true,
                    ..Resource::default()
                },
                Resource {
                    kind: "docker_container".into(),
                    name: "workspace".into(),
                    hide: false,
                    icon: "/icon/docker.svg".into(),
                    daily_cost: 12,
                    metadata: vec![
                        ResourceMetadata {
                            key: "image".into(),
                            value: "codercom/enterprise-base:ubuntu".into(),
                            sensitive: false,
                        },
                        ResourceMetadata {
                            key: "password".into(),
                            value: "hunter2".into(),
                            sensitive: true,
                        },
                    ],
                    agents: vec![main],
                    persistent: false,
                },
                Resource {
                    kind: "null_resource".into(),
                    name: "sidecar".into(),
                    agents: vec![sidecar],
                    persistent: false,
                    ..Resource::default()
                },
            ]
        );
        assert_eq!(model.readme, "");
        assert!(!model.has_ai_task);
        assert!(!model.has_external_agent);
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let broken = "resource \"docker_volume\" \"v\" {\n  name = \"ok\"\n}\n\nresource \"x\" \"y\" {\n  name = = \"bad\"\n}\n";
        let err = import_files(&[
            ("main.tf", "variable \"a\" {\n  default = 1\n}\n"),
            ("broken.tf", broken),
        ])
        .unwrap_err();
        let ImportError::Syntax(message) = &err else {
            panic!("expected a syntax error, got {err:?}");
        };
        assert!(message.starts_with("broken.tf:6,"), "{message}");
    }

    #[test]
    fn missing_variables_are_listed() {
        let main = r#"
variable "region" {}
variable "size" {
  type    = number
  default = 3
}
variable "token" {
  type      = string
  sensitive = true
}
variable "flags" {
  type    = list(string)
  default = null
}
resource "coder_agent" "dev" {
  os  = "linux"
  dir = "/srv/${var.region}/${var.size}"
}
"#;
        let err = import_files(&[("main.tf", main)]).unwrap_err();
        assert!(
            matches!(&err, ImportError::MissingVariables(names) if names == &["region", "token"]),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "required template variables need values: region, token"
        );

        let values = [
            ("region".to_owned(), "eu".to_owned()),
            ("token".to_owned(), "s3cret".to_owned()),
            ("size".to_owned(), "7".to_owned()),
        ];
        let model = import(&tar_of(&[("main.tf", main)]), &values).unwrap();
        let agent = &model.resources[0].agents[0];
        assert_eq!(agent.dir, "/srv/eu/7");
        // The declared defaults stay as declared.
        let defaults: Vec<_> = model
            .variables
            .iter()
            .map(|v| v.default_value.as_deref())
            .collect();
        assert_eq!(defaults, [None, Some("3"), None, Some("")]);
        let kinds: Vec<_> = model.variables.iter().map(|v| v.kind.as_str()).collect();
        assert_eq!(kinds, ["string", "number", "string", "string"]);
    }

    #[test]
    fn readme_at_root_is_kept() {
        let model = import_files(&[
            ("docs/README.md", "# not this one"),
            ("README.md", "---\ndisplay_name: Docker\n---\n# Docker\n"),
            ("main.tf", "resource \"null_resource\" \"x\" {}\n"),
        ])
        .unwrap();
        assert_eq!(model.readme, "---\ndisplay_name: Docker\n---\n# Docker\n");
        assert_eq!(model.resources.len(), 1);
        assert!(model.resources[0].persistent);
    }

    #[test]
    fn archive_problems_are_reported() {
        assert!(matches!(
            import(b"not a tar archive at all", &[]),
            Err(ImportError::Archive(_))
        ));
        let no_tf = tar_of(&[
            ("README.md", "hi"),
            ("sub/main.tf", "resource \"a\" \"b\" {}"),
        ]);
        assert!(matches!(import(&no_tf, &[]), Err(ImportError::Archive(_))));
    }

    #[test]
    fn non_literal_expressions_do_not_fail() {
        let main = r#"
locals {
  names   = [for n in data.coder_parameter.names.value : upper(n)]
  base    = trimspace("  /opt  ")
  derived = "${local.base}/tools"
}

data "coder_parameter" "names" {
  name    = "names"
  type    = "list(string)"
  default = ["a", "b"]
  order   = data.coder_parameter.other.order + 1
  mutable = data.coder_workspace.me.transition == "start"
}

data "coder_parameter" "mode" {
  type    = "bool"
  default = false
}

data "coder_parameter" "nothing" {
  default = null
}

resource "coder_agent" "dev" {
  os                 = lookup(var.platforms, "os", "linux")
  arch               = file("${path.module}/arch.txt")
  dir                = local.derived
  connection_timeout = var.timeout
  env                = merge(local.env, { A = "b" })
  motd_file          = data.coder_workspace.me.start_count > 0 ? "/etc/motd" : ""
  startup_script     = <<EOT
    %{ if data.coder_workspace.me.transition == "start" }run${data.x.y.z}%{ endif }
    ${join(",", ["x", "y"])} ${jsonencode({ b = 1, a = [true, null] })}
EOT
  shutdown_script    = templatefile("${path.module}/stop.sh", { user = local.username })
}

resource "coder_app" "orphan" {
  agent_id = coder_agent.missing.id
  url      = "http://localhost"
}

resource "coder_ai_task" "task" {
  sidebar_app {
    id = coder_app.orphan.id
  }
}

resource "coder_external_agent" "ext" {
  agent_token = coder_agent.dev.token
}

resource "kubernetes_pod" "dev" {
  count = data.coder_workspace.me.start_count > 0 ? 1 : 0
  spec {
    container {
      command = ["sh", "-c", coder_agent.dev.init_script]
    }
  }
}
"#;
        let model = import_files(&[("main.tf", main)]).unwrap();
        assert!(model.has_ai_task);
        assert!(model.has_external_agent);

        let names: Vec<_> = model.parameters.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["mode", "names", "nothing"]);
        let list = &model.parameters[1];
        assert_eq!(list.default_value.as_deref(), Some(r#"["a","b"]"#));
        assert_eq!(list.order, 0);
        assert!(!list.mutable);
        assert_eq!(model.parameters[0].default_value.as_deref(), Some("false"));
        assert_eq!(model.parameters[2].default_value, None);

        assert_eq!(model.resources.len(), 1);
        let pod = &model.resources[0];
        assert_eq!(
            (pod.kind.as_str(), pod.name.as_str()),
            ("kubernetes_pod", "dev")
        );
        assert!(!pod.persistent);
        let agent = &pod.agents[0];
        assert_eq!(agent.os, r#"lookup(var.platforms, "os", "linux")"#);
        assert_eq!(agent.arch, r#"file("${path.module}/arch.txt")"#);
        assert_eq!(agent.dir, "/opt/tools");
        assert_eq!(agent.connection_timeout_seconds, 120);
        assert!(agent.env.is_empty());
        assert_eq!(
            agent.motd_file,
            r#"data.coder_workspace.me.start_count > 0 ? "/etc/motd" : """#
        );
        assert!(agent.apps.is_empty());
        let startup = &agent.scripts[0].script;
        assert!(
            startup.contains("%{ if data.coder_workspace.me.transition == \"start\" }"),
            "{startup}"
        );
        assert!(
            startup.contains(r#"    x,y {"a":[true,null],"b":1}"#),
            "{startup}"
        );
        assert!(
            agent.scripts[1].script.starts_with("templatefile("),
            "{}",
            agent.scripts[1].script
        );
    }
}
