//! docs/event-schema.json is generated from the schema types and must match
//! them; every field the decoder reads must be described in it. Regenerate
//! with `UPDATE_GOLDEN=1 cargo test -p salespulse-model --test schema_sync`.

use std::path::Path;

#[test]
fn published_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/event-schema.json");
    let generated = salespulse_model::schema::event_schema_json();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let published = std::fs::read_to_string(&path).expect("docs/event-schema.json exists");
    assert_eq!(
        published, generated,
        "docs/event-schema.json is stale: rerun with UPDATE_GOLDEN=1"
    );
}

#[test]
fn schema_describes_every_decoded_field() {
    let generated = salespulse_model::schema::event_schema_json();
    for field in salespulse_model::decode::FIELD_NAMES {
        assert!(
            generated.contains(&format!("\"{field}\"")),
            "field {field} is decoded but not in the schema"
        );
    }
    for t in salespulse_model::EventType::ALL {
        assert!(
            generated.contains(&format!("\"{}\"", t.as_str())),
            "type {} missing from the schema",
            t.as_str()
        );
    }
}
