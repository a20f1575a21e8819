//! docs/schemas/ holds the JSON Schema of every output record type, one file
//! per type and major version, generated from the types (regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p salespulse-model --test output_schemas`),
//! and `index.json`, which maps each schema id to its file for validators.
//! docs/schemas/released/ holds each major's schema as last released; what
//! changed since must keep the compatibility rule (docs/records.md, "Schema
//! versions"), or the type needs a new major.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use salespulse_model::output::{breaking_changes, published_schemas};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schemas")
}

fn index() -> String {
    let map: BTreeMap<&str, &str> = published_schemas()
        .iter()
        .flat_map(|p| p.ids.iter().map(move |id| (*id, p.file)))
        .collect();
    let mut s = serde_json::to_string_pretty(&map).expect("index");
    s.push('\n');
    s
}

#[test]
fn published_schemas_are_current() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut files: Vec<(String, String)> = published_schemas()
        .iter()
        .map(|p| (p.file.to_string(), p.text()))
        .collect();
    files.push(("index.json".into(), index()));
    for (file, text) in files {
        let path = dir().join(&file);
        if update {
            std::fs::create_dir_all(dir()).expect("docs/schemas");
            std::fs::write(&path, &text).expect("write schema");
        }
        let published =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            published, text,
            "docs/schemas/{file} is stale: rerun with UPDATE_GOLDEN=1"
        );
    }
}

#[test]
fn every_schema_is_compatible_with_its_released_major() {
    let mut compared = 0;
    for p in published_schemas() {
        let released = dir().join("released").join(p.file);
        let Ok(text) = std::fs::read_to_string(&released) else {
            continue; // a major not released yet
        };
        let old: serde_json::Value = serde_json::from_str(&text).expect("released schema");
        let new = serde_json::to_value(&p.schema).expect("schema");
        let breaking = breaking_changes(&old, &new);
        assert!(
            breaking.is_empty(),
            "{} breaks consumers of the released {}: {breaking:#?}\n\
             Keep the change compatible, or give the type a new major ({}).",
            p.file,
            p.ids.join(", "),
            p.ids
                .iter()
                .map(|id| bump(id))
                .collect::<Vec<_>>()
                .join(", ")
        );
        compared += 1;
    }
    assert!(compared > 0, "no released schema to compare against");
}

fn bump(id: &str) -> String {
    match id.rsplit_once('/') {
        Some((name, major)) => format!("{name}/{}", major.parse::<u32>().unwrap_or(0) + 1),
        None => id.to_string(),
    }
}

/// A released major is either still published or superseded by a later
/// major of the same record (`score-1.json` by `score-2.json`), never
/// dropped silently.
#[test]
fn every_released_major_is_published_or_superseded() {
    let published: Vec<(String, u32)> = published_schemas()
        .iter()
        .filter_map(|p| {
            let (kind, major) = p.file.strip_suffix(".json")?.rsplit_once('-')?;
            Some((kind.to_string(), major.parse().ok()?))
        })
        .collect();
    let released = std::fs::read_dir(dir().join("released")).expect("docs/schemas/released");
    for entry in released {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .to_string();
        let (kind, major) = name
            .strip_suffix(".json")
            .and_then(|s| s.rsplit_once('-'))
            .and_then(|(k, m)| Some((k.to_string(), m.parse::<u32>().ok()?)))
            .unwrap_or_else(|| panic!("released/{name}: expected <record>-<major>.json"));
        assert!(
            published.iter().any(|(k, m)| *k == kind && *m >= major),
            "released/{name} is neither published nor superseded by a later major"
        );
    }
}
