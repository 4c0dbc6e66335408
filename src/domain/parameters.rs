//! Rich parameter resolution for builds, with Coder's rules for immutable,
//! required and ephemeral parameters, and value validation.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use regex::Regex;

use crate::domain::template_model::Parameter;

/// Why a parameter value was refused: Coder answers
/// `400 Unable to validate parameter "<name>"` with this as detail.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterError {
    pub name: String,
    pub detail: String,
}

/// Resolves the value of every parameter of the target version. `supplied`
/// are the request's values, `previous` the previous build's (None on the
/// first build), `preset` the chosen preset's values.
pub fn resolve(
    params: &[Parameter],
    supplied: &[(String, String)],
    previous: Option<&[(String, String)]>,
    preset: Option<&BTreeMap<String, String>>,
) -> Result<Vec<(String, String)>, ParameterError> {
    let find = |list: &[(String, String)], name: &str| {
        list.iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut out = Vec::new();
    for p in params {
        let err = |detail: String| ParameterError {
            name: p.name.clone(),
            detail,
        };
        let prev = previous.and_then(|prev| find(prev, &p.name));
        let given = preset
            .and_then(|ps| ps.get(&p.name).cloned())
            .or_else(|| find(supplied, &p.name));
        if !p.mutable {
            if let (Some(g), Some(old)) = (&given, &prev) {
                if g != old {
                    return Err(err(format!(
                        "Parameter {:?} is not mutable, so it can't be updated after creating a workspace.",
                        p.name
                    )));
                }
            }
        }
        let inherited = if p.ephemeral { None } else { prev.clone() };
        let value = match given.or(inherited).or_else(|| p.default_value.clone()) {
            Some(v) => v,
            None => {
                return Err(err(format!(
                    "Parameter {:?} is required but not provided",
                    p.name
                )))
            }
        };
        validate_value(p, &value, prev.as_deref()).map_err(err)?;
        out.push((p.name.clone(), value));
    }
    Ok(out)
}

/// Compiled validation patterns: a template's few are compiled once, not
/// once per build. At most this many are kept; full, it starts again empty.
const PATTERNS_KEPT: usize = 256;

fn compiled(pattern: &str) -> Result<Arc<Regex>, String> {
    // One shared instance per pattern: a clone would start its own caches.
    static PATTERNS: std::sync::LazyLock<std::sync::Mutex<HashMap<String, Arc<Regex>>>> =
        std::sync::LazyLock::new(Default::default);
    let mut kept = PATTERNS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(re) = kept.get(pattern) {
        return Ok(re.clone());
    }
    let re = Arc::new(Regex::new(pattern).map_err(|e| format!("invalid validation regex: {e}"))?);
    if kept.len() >= PATTERNS_KEPT {
        kept.clear();
    }
    kept.insert(pattern.to_string(), re.clone());
    Ok(re)
}

/// Checks one value against the parameter's type, options and validation.
pub fn validate_value(p: &Parameter, value: &str, previous: Option<&str>) -> Result<(), String> {
    match p.kind.as_str() {
        "number" => {
            let n: f64 = value
                .parse()
                .map_err(|_| format!("{value:?} is not a number"))?;
            if let Some(v) = &p.validation {
                if let Some(min) = v.min {
                    if n < min as f64 {
                        return Err(custom(
                            v,
                            p,
                            value,
                            &format!("value {value} is less than the minimum {min}"),
                        ));
                    }
                }
                if let Some(max) = v.max {
                    if n > max as f64 {
                        return Err(custom(
                            v,
                            p,
                            value,
                            &format!("value {value} is more than the maximum {max}"),
                        ));
                    }
                }
                if let Some(prev) = previous.and_then(|s| s.parse::<f64>().ok()) {
                    match v.monotonic.as_str() {
                        "increasing" if n < prev => {
                            return Err(format!(
                                "Parameter value {value} must be equal or greater than previous value: {prev}"
                            ))
                        }
                        "decreasing" if n > prev => {
                            return Err(format!(
                                "Parameter value {value} must be equal or lower than previous value: {prev}"
                            ))
                        }
                        _ => {}
                    }
                }
            }
        }
        "bool" => {
            if value != "true" && value != "false" {
                return Err(format!(
                    "boolean value can be either \"true\" or \"false\", got {value:?}"
                ));
            }
        }
        "list(string)" => {
            let parsed: Result<Vec<String>, _> = serde_json::from_str(value);
            let items = parsed.map_err(|_| format!("{value:?} is not a JSON array of strings"))?;
            if !p.options.is_empty() {
                for item in &items {
                    if !p.options.iter().any(|o| &o.value == item) {
                        return Err(format!("{item:?} is not a valid option"));
                    }
                }
            }
            return Ok(());
        }
        _ => {
            if let Some(v) = &p.validation {
                if !v.regex.is_empty() {
                    let re = compiled(&v.regex)?;
                    if !re.is_match(value) {
                        return Err(custom(
                            v,
                            p,
                            value,
                            &format!("{value:?} does not match {:?}", v.regex),
                        ));
                    }
                }
            }
        }
    }
    if !p.options.is_empty() && !p.options.iter().any(|o| o.value == value) {
        return Err(format!("Value {value:?} must be one of the options"));
    }
    Ok(())
}

/// The template's own error message when it has one, with Coder's
/// placeholders filled in.
fn custom(
    v: &crate::domain::template_model::ParameterValidation,
    _p: &Parameter,
    value: &str,
    fallback: &str,
) -> String {
    if v.error.is_empty() {
        return fallback.to_string();
    }
    v.error
        .replace("{min}", &v.min.map(|m| m.to_string()).unwrap_or_default())
        .replace("{max}", &v.max.map(|m| m.to_string()).unwrap_or_default())
        .replace("{value}", value)
}

/// A preset whose every parameter equals the resolved value, as Coder
/// records when no preset was chosen.
pub fn matching_preset<'a, T>(
    presets: &'a [(T, crate::domain::template_model::Preset)],
    resolved: &[(String, String)],
) -> Option<&'a T> {
    presets
        .iter()
        .find(|(_, p)| {
            !p.parameters.is_empty()
                && p.parameters
                    .iter()
                    .all(|(k, v)| resolved.iter().any(|(n, rv)| n == k && rv == v))
        })
        .map(|(id, _)| id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::template_model::{ParameterOption, ParameterValidation};

    fn param(name: &str, kind: &str, default: Option<&str>) -> Parameter {
        Parameter {
            name: name.into(),
            kind: kind.into(),
            default_value: default.map(String::from),
            mutable: true,
            ..Default::default()
        }
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn defaults_supplied_and_inherited_values() {
        let ps = vec![
            param("a", "string", Some("x")),
            param("b", "number", Some("1")),
        ];
        let r = resolve(&ps, &pairs(&[("b", "5"), ("zzz", "dropped")]), None, None).unwrap();
        assert_eq!(r, pairs(&[("a", "x"), ("b", "5")]));
        let r2 = resolve(&ps, &[], Some(&r), None).unwrap();
        assert_eq!(r2, r);
    }

    #[test]
    fn immutable_required_and_ephemeral_rules() {
        let mut imm = param("region", "string", Some("eu"));
        imm.mutable = false;
        let prev = pairs(&[("region", "eu")]);
        let e = resolve(
            std::slice::from_ref(&imm),
            &pairs(&[("region", "us")]),
            Some(&prev),
            None,
        )
        .unwrap_err();
        assert_eq!(e.name, "region");
        assert!(e.detail.contains("not mutable"));
        assert!(resolve(
            std::slice::from_ref(&imm),
            &pairs(&[("region", "eu")]),
            Some(&prev),
            None
        )
        .is_ok());
        // A new immutable parameter may be set once.
        assert!(resolve(
            std::slice::from_ref(&imm),
            &pairs(&[("region", "us")]),
            Some(&[]),
            None
        )
        .is_ok());
        let req = param("name", "string", None);
        let e = resolve(std::slice::from_ref(&req), &[], None, None).unwrap_err();
        assert!(e.detail.contains("required"));
        let mut eph = param("once", "string", Some("d"));
        eph.ephemeral = true;
        let r = resolve(
            std::slice::from_ref(&eph),
            &[],
            Some(&pairs(&[("once", "given")])),
            None,
        )
        .unwrap();
        assert_eq!(r, pairs(&[("once", "d")]));
    }

    #[test]
    fn validation() {
        let mut n = param("cpu", "number", Some("2"));
        n.validation = Some(ParameterValidation {
            min: Some(1),
            max: Some(8),
            monotonic: "increasing".into(),
            ..Default::default()
        });
        assert!(validate_value(&n, "4", None).is_ok());
        assert!(validate_value(&n, "9", None).is_err());
        assert!(validate_value(&n, "abc", None).is_err());
        assert!(validate_value(&n, "2", Some("4"))
            .unwrap_err()
            .contains("greater"));
        let mut s = param("img", "string", Some("a"));
        s.options = vec![ParameterOption {
            name: "A".into(),
            value: "a".into(),
            ..Default::default()
        }];
        assert!(validate_value(&s, "b", None).is_err());
        let mut r = param("r", "string", Some(""));
        r.validation = Some(ParameterValidation {
            regex: "^[a-z]+$".into(),
            error: "lowercase only, got {value}".into(),
            ..Default::default()
        });
        assert_eq!(
            validate_value(&r, "ABC", None).unwrap_err(),
            "lowercase only, got ABC"
        );
        assert!(validate_value(&param("b", "bool", None), "yes", None).is_err());
        assert!(validate_value(&param("l", "list(string)", None), "[\"a\"]", None).is_ok());
        assert!(validate_value(&param("l", "list(string)", None), "a", None).is_err());
    }
}
