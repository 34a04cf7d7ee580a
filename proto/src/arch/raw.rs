//! Reading a JSON object the way spigo's Go code reads its architecture
//! files, so files written for spigo load here with the same meaning,
//! and the service fields read from such an object.

use crate::resilience::{Calls, Resilience};

/// Reads a JSON value with Go's `encoding/json` rules, which spigo's files
/// are written for: an absent or `null` field is its type's zero value,
/// keys match case-insensitively when no key matches exactly, unknown keys
/// are ignored, and a value of the wrong type is an error.
pub(super) struct GoObject<'a> {
    map: &'a serde_json::Map<String, serde_json::Value>,
}

impl<'a> GoObject<'a> {
    pub(super) fn new(value: &'a serde_json::Value) -> Option<GoObject<'a>> {
        value.as_object().map(|map| GoObject { map })
    }

    /// The value of `key`, `None` when absent or `null`.
    pub(super) fn get(&self, key: &str) -> Option<&'a serde_json::Value> {
        let v = self.map.get(key).or_else(|| {
            self.map
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })?;
        (!v.is_null()).then_some(v)
    }

    pub(super) fn string(&self, key: &str) -> Result<String, String> {
        match self.get(key) {
            None => Ok(String::new()),
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(v) => Err(format!("{key} must be a string, not {}", kind(v))),
        }
    }

    /// An integer as Go reads one into an `int`: an integer literal only.
    pub(super) fn int(&self, key: &str) -> Result<i64, String> {
        match self.get(key) {
            None => Ok(0),
            Some(v) => v
                .as_i64()
                .ok_or_else(|| format!("{key} must be a whole number, not {}", kind(v))),
        }
    }

    pub(super) fn strings(&self, key: &str) -> Result<Vec<String>, String> {
        let Some(v) = self.get(key) else {
            return Ok(Vec::new());
        };
        let list = v
            .as_array()
            .ok_or_else(|| format!("{key} must be a list of names, not {}", kind(v)))?;
        list.iter()
            .map(|item| match item {
                serde_json::Value::Null => Ok(String::new()),
                serde_json::Value::String(s) => Ok(s.clone()),
                other => Err(format!(
                    "{key} must be a list of names, not of {}",
                    kind(other)
                )),
            })
            .collect()
    }
}

/// A JSON value's kind, for errors.
pub(super) fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => "an integer out of range",
        serde_json::Value::Number(_) => "a fraction",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A service's `resilience` and `resilience_for` fields.
pub(super) fn calls(obj: &GoObject) -> Result<Calls, String> {
    let all = (obj.get("resilience").map(Resilience::from_json)).transpose()?;
    let mut per = Vec::new();
    if let Some(v) = obj.get("resilience_for") {
        let map = v
            .as_object()
            .ok_or("resilience_for must map dependency names to settings")?;
        for (dependency, settings) in map {
            let r = Resilience::from_json(settings)
                .map_err(|e| format!("resilience_for '{dependency}': {e}"))?;
            per.push((dependency.clone(), r));
        }
    }
    Ok(Calls { all, per })
}
