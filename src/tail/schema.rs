//! Checking a record against its published JSON Schema (draft-07), for the
//! keywords the generated schemas in docs/schemas/ use: `type`,
//! `properties`, `required`, `additionalProperties`, `propertyNames`,
//! `items`, `enum`, `const`, `pattern`, `minimum`, `anyOf`, `allOf`,
//! `oneOf` and `$ref` into `definitions` (`format` is an annotation, as
//! draft-07 validators treat the integer formats schemars writes). A schema
//! using any other keyword is refused when it is compiled, so a new keyword
//! cannot pass unchecked. The independent check of every record is
//! `scripts/check_outputs.py` (Python's jsonschema) in the suite.

use std::collections::HashMap;

use regex::Regex;
use serde_json::Value;

/// Keywords checked, or annotations that constrain nothing.
const KNOWN: [&str; 22] = [
    "$schema",
    "$ref",
    "title",
    "description",
    "default",
    "definitions",
    "format",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "propertyNames",
    "items",
    "enum",
    "const",
    "pattern",
    "minimum",
    "anyOf",
    "allOf",
    "oneOf",
    "examples",
    "$id",
];

/// One compiled schema: the document and its patterns.
pub struct Validator {
    root: Value,
    patterns: HashMap<String, Regex>,
}

impl Validator {
    /// Compiles `root`, refusing keywords this checker does not know.
    pub fn new(root: Value) -> Result<Validator, String> {
        let mut patterns = HashMap::new();
        compile(&root, &mut patterns)?;
        Ok(Validator { root, patterns })
    }

    /// The first way `v` breaks the schema, with its JSON path.
    pub fn first_error(&self, v: &Value) -> Option<String> {
        self.check(&self.root, v, "").err()
    }

    fn check(&self, s: &Value, v: &Value, at: &str) -> Result<(), String> {
        let Some(s) = s.as_object() else {
            return match s {
                Value::Bool(false) => Err(format!("{at}: no value is allowed here")),
                _ => Ok(()),
            };
        };
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            let target = r
                .strip_prefix("#/definitions/")
                .and_then(|name| self.root.get("definitions")?.get(name))
                .ok_or_else(|| format!("{at}: unresolvable $ref {r}"))?;
            self.check(target, v, at)?;
        }
        if let Some(t) = s.get("type") {
            if !type_matches(t, v) {
                return Err(format!("{at}: {v} is not of type {t}"));
            }
        }
        if let Some(e) = s.get("enum").and_then(Value::as_array) {
            if !e.contains(v) {
                return Err(format!(
                    "{at}: {v} is not one of {}",
                    Value::Array(e.clone())
                ));
            }
        }
        if let Some(c) = s.get("const") {
            if c != v {
                return Err(format!("{at}: {v} is not {c}"));
            }
        }
        self.check_scalar(s, v, at)?;
        self.check_combinators(s, v, at)?;
        match v {
            Value::Object(o) => self.check_object(s, o, at),
            Value::Array(a) => match s.get("items") {
                Some(items) => a
                    .iter()
                    .enumerate()
                    .try_for_each(|(i, x)| self.check(items, x, &format!("{at}/{i}"))),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    fn check_scalar(
        &self,
        s: &serde_json::Map<String, Value>,
        v: &Value,
        at: &str,
    ) -> Result<(), String> {
        if let (Some(p), Some(text)) = (s.get("pattern").and_then(Value::as_str), v.as_str()) {
            if self.patterns.get(p).is_some_and(|re| !re.is_match(text)) {
                return Err(format!("{at}: {v} does not match {p:?}"));
            }
        }
        if let (Some(min), Some(x)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64()) {
            if x < min {
                return Err(format!("{at}: {v} is less than the minimum {min}"));
            }
        }
        Ok(())
    }

    fn check_combinators(
        &self,
        s: &serde_json::Map<String, Value>,
        v: &Value,
        at: &str,
    ) -> Result<(), String> {
        if let Some(all) = s.get("allOf").and_then(Value::as_array) {
            all.iter().try_for_each(|x| self.check(x, v, at))?;
        }
        if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
            if !any.iter().any(|x| self.check(x, v, at).is_ok()) {
                return Err(format!("{at}: {v} matches none of anyOf"));
            }
        }
        if let Some(one) = s.get("oneOf").and_then(Value::as_array) {
            let n = one.iter().filter(|x| self.check(x, v, at).is_ok()).count();
            if n != 1 {
                return Err(format!("{at}: {v} matches {n} of oneOf, not exactly one"));
            }
        }
        Ok(())
    }

    fn check_object(
        &self,
        s: &serde_json::Map<String, Value>,
        o: &serde_json::Map<String, Value>,
        at: &str,
    ) -> Result<(), String> {
        for r in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(k) = r.as_str().filter(|k| !o.contains_key(*k)) {
                return Err(format!("{at}: required field {k:?} is missing"));
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        for (k, x) in o {
            let path = format!("{at}/{k}");
            if let Some(names) = s.get("propertyNames") {
                self.check(names, &Value::String(k.clone()), &path)?;
            }
            match (props.and_then(|p| p.get(k)), s.get("additionalProperties")) {
                (Some(p), _) => self.check(p, x, &path)?,
                (None, Some(extra)) => self.check(extra, x, &path)?,
                (None, None) => {}
            }
        }
        Ok(())
    }
}

fn type_matches(t: &Value, v: &Value) -> bool {
    let one = |name: &str| match name {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|x| x.fract() == 0.0),
        _ => false,
    };
    match t {
        Value::String(name) => one(name),
        Value::Array(names) => names.iter().filter_map(Value::as_str).any(one),
        _ => false,
    }
}

/// Checks every keyword of `s` is known and compiles its patterns.
fn compile(s: &Value, patterns: &mut HashMap<String, Regex>) -> Result<(), String> {
    match s {
        Value::Object(o) => {
            for (k, v) in o {
                if !KNOWN.contains(&k.as_str()) {
                    return Err(format!("keyword {k:?} is not checked by salespulse tail"));
                }
                match k.as_str() {
                    "pattern" => {
                        let p = v.as_str().unwrap_or_default();
                        let re = Regex::new(p).map_err(|e| format!("pattern {p:?}: {e}"))?;
                        patterns.insert(p.to_string(), re);
                    }
                    "properties" | "definitions" => {
                        for x in v.as_object().into_iter().flat_map(|m| m.values()) {
                            compile(x, patterns)?;
                        }
                    }
                    "enum" | "const" | "default" | "examples" | "required" => {}
                    _ => compile(v, patterns)?,
                }
            }
            Ok(())
        }
        Value::Array(a) => a.iter().try_for_each(|x| compile(x, patterns)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(schema: Value) -> Validator {
        Validator::new(schema).unwrap()
    }

    #[test]
    fn each_keyword_refuses_what_it_should() {
        let s = v(json!({
            "type": "object", "required": ["a"],
            "properties": {
                "a": {"type": "integer", "minimum": 0.0},
                "b": {"anyOf": [{"type": "null"}, {"$ref": "#/definitions/Money"}]},
                "c": {"type": "array", "items": {"enum": ["x", "y"]}},
                "d": {"const": "score/2"},
                "e": {"type": "object", "additionalProperties": {"type": "number"}}
            },
            "definitions": {"Money": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"}}
        }));
        let ok = json!({"a": 1, "b": "12.50", "c": ["x"], "d": "score/2", "e": {"k": 1.5}});
        assert_eq!(s.first_error(&ok), None);
        for (bad, says) in [
            (json!({"b": null}), "required field \"a\""),
            (json!({"a": -1}), "/a: -1 is less than the minimum"),
            (json!({"a": 1.5}), "/a: 1.5 is not of type \"integer\""),
            (
                json!({"a": 1, "b": "12,50"}),
                "/b: \"12,50\" matches none of anyOf",
            ),
            (json!({"a": 1, "c": ["z"]}), "/c/0: \"z\" is not one of"),
            (
                json!({"a": 1, "d": "score/1"}),
                "/d: \"score/1\" is not \"score/2\"",
            ),
            (
                json!({"a": 1, "e": {"k": "x"}}),
                "/e/k: \"x\" is not of type \"number\"",
            ),
        ] {
            let e = s.first_error(&bad).unwrap_or_default();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn an_unknown_keyword_is_refused_when_compiled() {
        let e = Validator::new(json!({"type": "string", "maxLength": 3})).err();
        assert!(e.unwrap_or_default().contains("\"maxLength\""));
    }
}
