//! Checking values against IR schemas: the schema compiled to JSON Schema
//! (`specmill_codegen::json_schema::validation_document`) and validated with `jsonschema`
//! (formats included).

use std::collections::HashMap;

use serde_json::Value;
use specmill_codegen::ir::{Api, Schema};
use specmill_codegen::json_schema::validation_document;

/// Compiled validators, one per schema the harness checks against.
#[derive(Default)]
pub struct Checker {
    compiled: HashMap<String, Result<jsonschema::Validator, String>>,
}

impl Checker {
    /// Check `value` against `schema` of `api`; `key` names the schema for the cache (it must
    /// be unique per schema). Errors are `path: message` lines.
    pub fn check(&mut self, key: &str, api: &Api, schema: &Schema, value: &Value) -> Result<(), Vec<String>> {
        let validator = self.compiled.entry(key.to_string()).or_insert_with(|| compile(api, schema));
        let validator = validator.as_ref().map_err(|e| vec![format!("the schema does not compile: {e}")])?;
        let errors: Vec<String> = validator
            .iter_errors(value)
            .take(5)
            .map(|e| {
                let at = e.instance_path().to_string();
                format!("{}: {e}", if at.is_empty() { "/" } else { at.as_str() })
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

fn compile(api: &Api, schema: &Schema) -> Result<jsonschema::Validator, String> {
    let doc = validation_document(api, schema);
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&doc)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use specmill_codegen::ir::{Additional, Kind, ObjectSchema, Property, Protocol, TypeSpace};

    #[test]
    fn refs_to_named_schemas_resolve_and_constraints_hold() {
        let mut types = TypeSpace::default();
        types.named.insert("Count".into(), Schema::new(Kind::Integer { minimum: Some(0), maximum: None, bits: 64 }));
        let api = Api {
            name: "t".into(),
            title: String::new(),
            description: String::new(),
            protocol: Protocol::OpenApi,
            native: "problem".into(),
            source: String::new(),
            mounts: vec![],
            services: vec![],
            signing_name: None,
            types,
        };
        let schema = Schema::new(Kind::Object(ObjectSchema {
            properties: vec![Property { name: "n".into(), required: true, schema: Schema::new(Kind::Ref("Count".into())) }],
            additional: Additional::Forbid,
            alternatives: None,
        }));
        let mut c = Checker::default();
        assert_eq!(c.check("k", &api, &schema, &json!({"n": 3})), Ok(()));
        let errs = c.check("k", &api, &schema, &json!({"n": -1, "x": 1})).unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(c.check("k", &api, &schema, &json!({})).is_err());
    }
}
