//! The compatibility rule between two versions of one output schema (same
//! major), from a consumer's side: a consumer written against the old
//! schema must read every record the new one allows. So a minor change may
//! add properties (consumers ignore unknown ones), make a property
//! required, narrow a type, and add enum values (consumers treat an unknown
//! value as "other", docs/records.md); it may not remove a property, make a
//! required one optional or nullable, widen a type, or drop an enum value.
//! Those need a new major (`score/2`).

use std::collections::BTreeSet;

use serde_json::Value;

/// What in `new` breaks a consumer of `old` (empty: compatible). Both are
/// JSON Schemas as schemars writes them (draft 7, `definitions` and `$ref`).
pub fn breaking_changes(old: &Value, new: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    compare(
        &Side::new(old, old),
        &Side::new(new, new),
        "$",
        &mut out,
        &mut seen,
    );
    out
}

/// A schema node with everything its `$ref`s and `anyOf`/`oneOf`
/// branches contribute.
struct Side<'a> {
    types: BTreeSet<String>,
    properties: Vec<(&'a str, &'a Value)>,
    required: BTreeSet<&'a str>,
    additional: Option<&'a Value>,
    items: Option<&'a Value>,
    enums: Option<Vec<&'a Value>>,
    refs: Vec<&'a str>,
    root: &'a Value,
}

impl<'a> Side<'a> {
    fn new(node: &'a Value, root: &'a Value) -> Side<'a> {
        let mut s = Side {
            types: BTreeSet::new(),
            properties: Vec::new(),
            required: BTreeSet::new(),
            additional: None,
            items: None,
            enums: None,
            refs: Vec::new(),
            root,
        };
        s.absorb(node, 0);
        s
    }

    fn absorb(&mut self, node: &'a Value, depth: usize) {
        if depth > 32 {
            return;
        }
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            self.refs.push(r);
            if let Some(target) = resolve(self.root, r) {
                self.absorb(target, depth + 1);
            }
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            for branch in node
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                self.absorb(branch, depth + 1);
            }
        }
        match node.get("type") {
            Some(Value::String(t)) => {
                self.types.insert(t.clone());
            }
            Some(Value::Array(ts)) => {
                self.types
                    .extend(ts.iter().filter_map(Value::as_str).map(str::to_string));
            }
            _ => {}
        }
        if let Some(props) = node.get("properties").and_then(Value::as_object) {
            self.types.insert("object".into());
            self.properties
                .extend(props.iter().map(|(k, v)| (k.as_str(), v)));
        }
        if let Some(req) = node.get("required").and_then(Value::as_array) {
            self.required.extend(req.iter().filter_map(Value::as_str));
        }
        if let Some(a) = node.get("additionalProperties").filter(|a| a.is_object()) {
            self.additional = Some(a);
        }
        if let Some(i) = node.get("items") {
            self.items = Some(i);
        }
        if let Some(e) = node.get("enum").and_then(Value::as_array) {
            self.enums.get_or_insert_with(Vec::new).extend(e.iter());
        }
        if let Some(c) = node.get("const") {
            self.enums.get_or_insert_with(Vec::new).push(c);
        }
    }

    fn property(&self, name: &str) -> Option<&'a Value> {
        self.properties
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
    }
}

fn resolve<'a>(root: &'a Value, r: &str) -> Option<&'a Value> {
    let name = r.strip_prefix("#/definitions/")?;
    root.get("definitions")?.get(name)
}

/// A type of `new` an `old` consumer accepts.
fn accepts(old: &BTreeSet<String>, t: &str) -> bool {
    old.contains(t) || (t == "integer" && old.contains("number"))
}

fn compare(
    old: &Side<'_>,
    new: &Side<'_>,
    path: &str,
    out: &mut Vec<String>,
    seen: &mut BTreeSet<String>,
) {
    // A pair of definitions already compared (recursive types).
    if !old.refs.is_empty() || !new.refs.is_empty() {
        let key = format!("{:?}->{:?}", old.refs, new.refs);
        if !seen.insert(key) {
            return;
        }
    }
    if !old.types.is_empty() {
        for t in &new.types {
            if !accepts(&old.types, t) {
                out.push(format!(
                    "{path}: may now be {t} (was {:?})",
                    old.types.iter().collect::<Vec<_>>()
                ));
            }
        }
        if new.types.is_empty() {
            out.push(format!("{path}: no longer constrained to a type"));
        }
    }
    if let Some(old_enum) = &old.enums {
        match &new.enums {
            None => out.push(format!("{path}: no longer limited to its listed values")),
            Some(new_enum) => {
                for v in old_enum.iter().filter(|v| !new_enum.contains(v)) {
                    out.push(format!("{path}: value {v} was dropped"));
                }
            }
        }
    }
    for (name, old_prop) in &old.properties {
        let p = format!("{path}.{name}");
        match new.property(name) {
            None => out.push(format!("{p}: removed")),
            Some(new_prop) => {
                if old.required.contains(name) && !new.required.contains(name) {
                    out.push(format!("{p}: no longer required"));
                }
                compare(
                    &Side::new(old_prop, old.root),
                    &Side::new(new_prop, new.root),
                    &p,
                    out,
                    seen,
                );
            }
        }
    }
    if let (Some(o), Some(n)) = (old.additional, new.additional) {
        compare(
            &Side::new(o, old.root),
            &Side::new(n, new.root),
            &format!("{path}.*"),
            out,
            seen,
        );
    }
    if let (Some(o), Some(n)) = (old.items, new.items) {
        compare(
            &Side::new(o, old.root),
            &Side::new(n, new.root),
            &format!("{path}[]"),
            out,
            seen,
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema(props: Value, required: &[&str]) -> Value {
        json!({
            "type": "object", "required": required, "properties": props,
            "definitions": {
                "Period": {"type": "object", "required": ["kind"],
                           "properties": {"kind": {"type": "string", "enum": ["day", "month"]}}}
            }
        })
    }

    fn base() -> Value {
        schema(
            json!({
                "rep_id": {"type": "string"},
                "score": {"type": ["number", "null"]},
                "count": {"type": "integer"},
                "period": {"anyOf": [{"$ref": "#/definitions/Period"}, {"type": "null"}]},
                "items": {"type": "array", "items": {"type": "string"}}
            }),
            &["rep_id", "count"],
        )
    }

    #[test]
    fn the_same_schema_and_additions_are_compatible() {
        assert!(breaking_changes(&base(), &base()).is_empty());
        let mut added = base();
        added["properties"]["seq"] = json!({"type": "integer"});
        added["required"] = json!(["rep_id", "count", "seq", "score"]);
        added["definitions"]["Period"]["properties"]["kind"]["enum"] =
            json!(["day", "week", "month"]);
        // Narrowing: a nullable number that is now always a number.
        added["properties"]["score"] = json!({"type": "number"});
        assert_eq!(breaking_changes(&base(), &added), Vec::<String>::new());
    }

    #[test]
    fn removals_optional_fields_widened_types_and_dropped_values_break() {
        let mut removed = base();
        removed["properties"]
            .as_object_mut()
            .unwrap()
            .remove("items");
        assert_eq!(breaking_changes(&base(), &removed), ["$.items: removed"]);

        let mut optional = base();
        optional["required"] = json!(["rep_id"]);
        assert_eq!(
            breaking_changes(&base(), &optional),
            ["$.count: no longer required"]
        );

        let mut widened = base();
        widened["properties"]["count"] = json!({"type": ["integer", "string"]});
        widened["properties"]["rep_id"] = json!({"type": ["string", "null"]});
        let b = breaking_changes(&base(), &widened);
        assert!(
            b.iter()
                .any(|m| m.starts_with("$.count: may now be string")),
            "{b:?}"
        );
        assert!(
            b.iter().any(|m| m.starts_with("$.rep_id: may now be null")),
            "{b:?}"
        );

        let mut dropped = base();
        dropped["definitions"]["Period"]["properties"]["kind"]["enum"] = json!(["day"]);
        assert_eq!(
            breaking_changes(&base(), &dropped),
            ["$.period.kind: value \"month\" was dropped"]
        );

        let mut deep = base();
        deep["properties"]["items"]["items"] = json!({"type": "number"});
        assert_eq!(
            breaking_changes(&base(), &deep),
            ["$.items[]: may now be number (was [\"string\"])"]
        );
    }
}
