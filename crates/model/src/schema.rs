//! JSON Schema of event schema v1 (see docs/event-schema.json).
