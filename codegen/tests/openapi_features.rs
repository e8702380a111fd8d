//! The OpenAPI 3.0 features real documents use, each on a small document: what the loader
//! makes of it (the IR) and, where it matters, the Rust the emitters write.


use specmill_codegen::ir::{Additional, Api, Body, Kind, ParamLocation, Reply, Schema};
use specmill_codegen::load::openapi::{load_file_reporting, load_str, load_str_reporting};
use specmill_codegen::{emit, Tree};

fn doc(paths: &str, components: &str) -> String {
    format!("openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths:\n{paths}\ncomponents:\n  schemas:\n{components}")
}

fn load(text: &str) -> (Api, Vec<String>) {
    let mut warnings = Vec::new();
    let api = load_str_reporting(text, "openapi/t.yaml", "t", None, &mut warnings).unwrap();
    (api, warnings)
}

fn server(api: &Api, file: &str) -> String {
    emit::generate(std::slice::from_ref(api)).unwrap()[&Tree::Server][&format!("{}/{file}", api.name)].clone()
}

fn client(api: &Api, file: &str) -> String {
    emit::generate(std::slice::from_ref(api)).unwrap()[&Tree::Client][&format!("{}/{file}", api.name)].clone()
}

fn object(api: &Api, name: &str) -> specmill_codegen::ir::ObjectSchema {
    match &api.types.named[name].kind {
        Kind::Object(o) => o.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

const NO_PATHS: &str = "  {}";

#[test]
fn refs_to_components_and_to_other_files() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("common.yaml"),
        "components:\n  schemas:\n    Pet: {type: object, properties: {name: {type: string}, owner: {$ref: '#/components/schemas/Owner'}}}\n    Owner: {type: object, properties: {id: {type: integer}}}\n",
    )
    .unwrap();
    std::fs::write(tmp.path().join("error.yaml"), "type: object\nproperties:\n  message: {type: string}\n").unwrap();
    let text = r#"openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /pets/{id}:
    $ref: '#/components/x-paths/pet'
components:
  x-paths:
    pet:
      get:
        operationId: get_pet
        parameters: [{$ref: '#/components/parameters/Id'}]
        responses:
          '200': {$ref: '#/components/responses/Pet'}
          '404': {description: missing, content: {application/json: {schema: {$ref: 'error.yaml'}}}}
  parameters:
    Id: {name: id, in: path, required: true, schema: {type: integer}}
  responses:
    Pet: {description: a pet, content: {application/json: {schema: {$ref: 'common.yaml#/components/schemas/Pet'}}}}
  schemas:
    Owner: {type: string}
"#;
    std::fs::write(tmp.path().join("t.yaml"), text).unwrap();
    let mut warnings = Vec::new();
    let api = load_file_reporting(&tmp.path().join("t.yaml"), "t.yaml", &mut warnings).unwrap();
    // The other file's schemas join the API's; its `Owner` clashes with ours and gets `_2`.
    assert_eq!(api.types.named.keys().collect::<Vec<_>>(), ["Owner", "Owner_2", "Pet", "error"]);
    let pet = object(&api, "Pet");
    assert_eq!(pet.properties[1].schema.kind, Kind::Ref("Owner_2".into()));
    let v = &api.services[0].operations[0].versions[0];
    assert_eq!((v.params[0].name.as_str(), v.params[0].location), ("id", ParamLocation::Path));
    assert_eq!(v.response.as_ref().unwrap().kind, Kind::Ref("Pet".into()));
    assert_eq!(v.errors[0].schema.as_ref().unwrap().kind, Kind::Ref("error".into()));
    // In a spec directory the fragments are parts of the document, not APIs of their own.
    let apis = specmill_codegen::load::load_dir(tmp.path()).unwrap();
    assert_eq!(apis.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["t"]);
    assert_eq!(apis[0].types.named.len(), 4);
    // Without a directory a reference to another file is an error.
    assert!(load_str(text, "t.yaml", "t").unwrap_err().contains("no directory"));
}

#[test]
fn all_of_is_merged() {
    let (api, warnings) = load(&doc(
        NO_PATHS,
        "    Base: {type: object, required: [id], properties: {id: {type: integer}, kind: {type: string}}}
    Dog:
      description: a dog
      allOf:
        - $ref: '#/components/schemas/Base'
        - {type: object, required: [bark], properties: {bark: {type: boolean}, kind: {enum: [dog]}}}
    Named:
      nullable: true
      allOf: [{$ref: '#/components/schemas/Base'}]
",
    ));
    assert!(warnings.is_empty(), "{warnings:?}");
    let dog = object(&api, "Dog");
    let props: Vec<(&str, bool)> = dog.properties.iter().map(|p| (p.name.as_str(), p.required)).collect();
    assert_eq!(props, [("id", true), ("kind", false), ("bark", true)]);
    assert_eq!(dog.properties[1].schema.kind, Kind::Enum(vec!["dog".into()]), "the later part wins");
    assert_eq!(api.types.named["Dog"].description, "a dog");
    // `allOf` of one reference stays that reference.
    assert_eq!(api.types.named["Named"], Schema { nullable: true, ..Schema::new(Kind::Ref("Base".into())) });
}

#[test]
fn one_of_with_and_without_discriminator() {
    let (api, _) = load(&doc(
        NO_PATHS,
        "    Cat: {type: object, required: [pet_type], properties: {pet_type: {type: string}, claws: {type: integer}}}
    Dog: {type: object, required: [pet_type], properties: {pet_type: {type: string}, bark: {type: boolean}}}
    Pet:
      oneOf: [{$ref: '#/components/schemas/Cat'}, {$ref: '#/components/schemas/Dog'}]
      discriminator: {propertyName: pet_type, mapping: {kitty: '#/components/schemas/Cat'}}
    Value:
      anyOf: [{type: string}, {type: integer}, {title: pair, type: array, items: {type: integer}}, {type: object, properties: {a: {type: string}}}, {$ref: '#/components/schemas/Dog'}]
    MaybeDog:
      oneOf: [{$ref: '#/components/schemas/Dog'}, {type: 'null'}]
",
    ));
    let Kind::Union { names, tag, exclusive, .. } = &api.types.named["Pet"].kind else { panic!() };
    assert_eq!((names.clone(), tag.as_deref(), *exclusive), (vec!["kitty".to_string(), "Dog".to_string()], Some("pet_type"), true));
    let Kind::Union { names, tag: None, exclusive: false, .. } = &api.types.named["Value"].kind else { panic!() };
    assert_eq!(names, &["", "", "pair", "", "Dog"]);
    assert_eq!(api.types.named["MaybeDog"], Schema { nullable: true, ..Schema::new(Kind::Ref("Dog".into())) });

    let types = server(&api, "types.rs");
    // Tagged: chosen by `pet_type`, the variant's struct keeps its own `pet_type` member.
    assert!(types.contains("pub enum Pet {\n    Kitty(Cat),\n    Dog(Dog),\n}"), "{types}");
    assert!(types.contains("impl<'de> ::serde::Deserialize<'de> for Pet"), "{types}");
    assert!(types.contains(".get(\"pet_type\")") && types.contains("Some(\"kitty\") =>"), "{types}");
    // Untagged: variant names from the kind, the title and the reference.
    assert!(types.contains("#[serde(untagged)]\npub enum Value {\n    String(::std::string::String),\n    Integer(i64),\n    Pair(::std::vec::Vec<i64>),\n    Object(ValueObject),\n    Dog(Dog),\n}"), "{types}");
}

#[test]
fn a_tagged_union_round_trips() {
    // The emitted impls, compiled by hand here: what a Pet looks like on the wire.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Cat {
        pet_type: String,
        claws: i64,
    }
    let (api, _) = load(&doc(
        NO_PATHS,
        "    Cat: {type: object, required: [pet_type, claws], properties: {pet_type: {type: string}, claws: {type: integer}}}
    Pet:
      oneOf: [{$ref: '#/components/schemas/Cat'}]
      discriminator: {propertyName: pet_type}
",
    ));
    let types = server(&api, "types.rs");
    assert!(types.contains("members.entry(\"pet_type\").or_insert_with(|| ::serde_json::Value::from(tag));"), "{types}");
    let cat: Cat = serde_json::from_value(serde_json::json!({"pet_type": "Cat", "claws": 3})).unwrap();
    assert_eq!(cat.claws, 3);
}

#[test]
fn additional_properties_beside_properties_and_nullable() {
    let (api, _) = load(&doc(
        NO_PATHS,
        "    Labels:
      type: object
      required: [name]
      properties: {name: {type: string}, note: {type: string, nullable: true}}
      additionalProperties: {type: integer}
",
    ));
    let labels = object(&api, "Labels");
    assert_eq!(labels.additional, Additional::Keep(Box::new(Schema::new(Kind::Integer { minimum: None, maximum: None, bits: 64 }))));
    assert!(labels.properties[1].schema.nullable);
    let types = server(&api, "types.rs");
    assert!(types.contains("#[serde(flatten)]\n    pub extra: ::std::collections::BTreeMap<::std::string::String, i64>,"), "{types}");
    assert!(types.contains("pub note: ::std::option::Option<::std::string::String>,"), "{types}");
}

const REPLIES: &str = r#"  /things:
    post:
      operationId: put_thing
      requestBody: {content: {application/json: {schema: {type: object, properties: {n: {type: integer}}}}}}
      responses:
        '200': {description: updated, content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}}
        '201': {description: created, content: {application/json: {schema: {type: object, properties: {id: {type: string}}}}}}
        '204': {description: nothing}
        '400': {description: bad}
    get:
      operationId: get_thing
      responses:
        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}}
"#;

#[test]
fn several_success_replies_make_a_reply_enum() {
    let (api, _) = load(&doc(REPLIES, "    Thing: {type: object, properties: {id: {type: string}}}\n"));
    let put = &api.services[0].operations.iter().find(|o| o.name == "put_thing").unwrap().versions[0];
    let Some(Schema { kind: Kind::Replies(replies), .. }) = &put.response else { panic!("{:?}", put.response) };
    let statuses: Vec<(u16, bool)> = replies.iter().map(|r: &Reply| (r.status, r.schema.is_some())).collect();
    assert_eq!(statuses, [(200, true), (201, true), (204, false)]);
    assert_eq!(put.errors.iter().map(|e| e.status).collect::<Vec<_>>(), [400]);
    let types = server(&api, "types.rs");
    assert!(types.contains("pub enum PutThingResponse {\n    /// `200`: updated\n    Ok(Thing),\n    /// `201`: created\n    Created(PutThingResponseCreated),\n    /// `204`: nothing\n    NoContent,\n}"), "{types}");
    assert!(types.contains("PutThingResponse::NoContent => 204,"), "{types}");
    assert!(types.contains("impl ::specmill_runtime::protocol::StatusReply for PutThingResponse"), "{types}");
    let srv = server(&api, "server.rs");
    assert!(srv.contains("::specmill_runtime::protocol::respond_status(&ctx, result)"), "{srv}");
    // One success stays as it was: the reply's type, sent with `respond`.
    assert!(srv.contains("::specmill_runtime::protocol::respond(&ctx, result)"), "{srv}");
    assert!(srv.contains("types::GetThingResponse,") && types.contains("pub type GetThingResponse = Thing;"), "{srv}");
    let cli = client(&api, "services.rs");
    assert!(cli.contains("crate::protocol::rest::call_status(") && cli.contains("types::PutThingResponse::from_status"), "{cli}");
    assert!(client(&api, "types.rs").contains("pub fn from_status("));
}

#[test]
fn media_types_json_preferred_unknown_skipped_with_a_warning() {
    let (api, warnings) = load(&doc(
        r#"  /a:
    put:
      operationId: a
      requestBody: {content: {application/xml: {schema: {type: object}}, application/vnd.api+json: {schema: {type: object, properties: {x: {type: integer}}}}}}
      responses:
        '200': {description: ok, content: {text/plain: {schema: {type: string}}, application/json: {schema: {type: string}}}}
  /b:
    put:
      operationId: b
      requestBody: {content: {application/octet-stream: {schema: {type: string, format: binary}}}}
      responses: {'200': {description: ok, content: {image/png: {schema: {type: string, format: binary}}}}}
"#,
        "    {}\n",
    ));
    let a = &api.services[0].operations[0].versions[0];
    assert!(matches!(&a.body, Body::Json { schema: Schema { kind: Kind::Object(_), .. }, .. }), "{:?}", a.body);
    assert!(!a.raw_response);
    let b = &api.services[0].operations[1].versions[0];
    assert_eq!(b.body, Body::None);
    assert!(b.raw_response, "a reply that is not JSON is sent as it is");
    assert!(warnings.iter().any(|w| w.contains("PUT /a") && w.contains("application/xml") && w.contains("skipped")), "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("PUT /b") && w.contains("application/octet-stream") && w.contains("ignored")), "{warnings:?}");
    assert!(warnings.iter().all(|w| w.starts_with("openapi/t.yaml: ")), "{warnings:?}");
}

#[test]
fn const_and_enum_of_inline_schemas_are_kept() {
    let (api, warnings) = load(&doc(
        r#"  /a:
    post:
      operationId: a
      parameters:
        - {name: order, in: query, schema: {type: string, enum: [asc, desc]}}
        - {name: level, in: query, schema: {type: integer, enum: [1, 2, 3]}}
      requestBody: {content: {application/json: {schema: {type: object, properties: {kind: {const: metric}, mode: {type: string, enum: [a, b, null], nullable: true}}}}}}
      responses: {'204': {description: ok}}
"#,
        "    {}\n",
    ));
    let v = &api.services[0].operations[0].versions[0];
    assert_eq!(v.params[0].schema.kind, Kind::Enum(vec!["asc".into(), "desc".into()]));
    assert!(matches!(v.params[1].schema.kind, Kind::Integer { .. }), "a non-string enum keeps its type");
    assert!(warnings.iter().any(|w| w.contains("parameter level") && w.contains("only string enums")), "{warnings:?}");
    let Body::Json { schema: Schema { kind: Kind::Object(body), .. }, .. } = &v.body else { panic!() };
    assert_eq!(body.properties[0].schema.kind, Kind::Const(serde_json::json!("metric")));
    assert_eq!(body.properties[1].schema.kind, Kind::Enum(vec!["a".into(), "b".into()]));
    assert!(body.properties[1].schema.nullable);
}

#[test]
fn what_real_documents_leave_out_or_add() {
    let text = r#"openapi: 3.0.1
info: {title: t, version: '1'}
servers: [{url: 'https://{host}.example.com/{base}/', variables: {host: {default: api}, base: {default: v2}}}, {url: 'https://other.example.com'}]
paths:
  /pets/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
        - {name: session, in: cookie, schema: {type: string}}
      responses:
        2XX: {description: ok, content: {application/json: {schema: {type: string}}}}
        default: {description: error}
  /pets:
    get:
      responses: {'200': {description: ok}}
"#;
    let (api, warnings) = load(text);
    assert_eq!(api.mounts, ["/v2", ""]);
    let names: Vec<&str> = api.services[0].operations.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["get_pets_id", "get_pets"]);
    let v = &api.services[0].operations[0].versions[0];
    assert_eq!(v.params.len(), 1, "the cookie parameter is skipped");
    assert_eq!(v.response.as_ref().unwrap().kind, Kind::String { min_length: None, max_length: None, pattern: None, format: None });
    for w in ["cookie parameter `session` is not supported", "reply range 2XX is taken as 200", "the `default` reply is not modelled"] {
        assert!(warnings.iter().any(|x| x.contains(w)), "{w}: {warnings:?}");
    }
    assert_eq!(api.native, "problem");
    assert!(server(&api, "server.rs").contains("fn get_pets_id("));
}

/// A schema holding itself through `allOf` with more than the reference (AWS amplifyuibuilder
/// in APIs.guru's directory): the inner place refers to the schema instead of inlining it
/// forever, with a warning.
#[test]
fn all_of_of_the_schema_itself_stops_at_a_reference() {
    let components = "    Node:\n      type: object\n      properties:\n        name: {type: string}\n        child:\n          allOf:\n            - $ref: '#/components/schemas/Node'\n            - properties: {depth: {type: integer}}\n";
    let (api, warnings) = load(&doc(NO_PATHS, components));
    let node = object(&api, "Node");
    let Kind::Object(child) = &node.properties[1].schema.kind else { panic!("child is the merged object: {:?}", node.properties[1].schema.kind) };
    assert_eq!(child.properties.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["name", "child", "depth"]);
    assert_eq!(child.properties[1].schema.kind, Kind::Ref("Node".into()), "the second level refers to Node");
    assert!(warnings.iter().any(|w| w.contains("allOf of `#/components/schemas/Node` inside")), "{warnings:?}");
    // and the emitted code builds its types (boxed where it contains itself)
    assert!(server(&api, "types.rs").contains("pub struct Node"));
}
