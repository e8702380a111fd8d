//! The one intermediate representation every loader produces and every emitter reads.
//!
//! APIs → services → operations → versions. Each version carries its HTTP binding and its
//! request/response types; the types live in a [`TypeSpace`] of named schemas plus inline
//! schemas. Nothing here knows about a spec format or about Rust.

use std::collections::BTreeMap;
use std::fmt;

/// One API family, loaded from one spec file (or, for ClearML, one service file).
#[derive(Debug, Clone, PartialEq)]
pub struct Api {
    /// Family name, also the name of the generated module and of the runtime protocol
    /// module that formats its native errors (`clearml`, `sagemaker`, `lens`, `dioptra`).
    pub name: String,
    pub title: String,
    pub description: String,
    pub protocol: Protocol,
    /// The runtime protocol module that frames this API's errors and authenticates its
    /// callers (`specmill_runtime::protocol::<native>`): the family's own (`clearml`,
    /// `dioptra`, `lens`, `comet`), `aws` for every AWS service model, `problem` (RFC 9457
    /// problem details) for an OpenAPI document that names no family.
    pub native: String,
    /// The spec file this API was loaded from, relative to the spec directory.
    pub source: String,
    /// Path prefixes under which every route of the API is mounted (`""` for the root).
    pub mounts: Vec<String>,
    /// The service name AWS Signature V4 scopes requests to (the model's `signingName`);
    /// `None` for APIs that are not signed.
    pub signing_name: Option<String>,
    pub services: Vec<Service>,
    pub types: TypeSpace,
}

/// How requests are bound to operations and how replies are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// ClearML: `/[vX.Y/]service.action`, any method, JSON (or JSON-lines) body, `meta`/`data` envelope.
    ClearMl,
    /// AWS rest-json: operation chosen by method and URI, members in the JSON body.
    AwsRestJson,
    /// Plain REST described by OpenAPI: path/query parameters and a JSON body.
    OpenApi,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: String,
    pub description: String,
    pub operations: Vec<Operation>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// Wire name of the operation (`get_task_log`, `BatchPutMetrics`, an OpenAPI operationId).
    pub name: String,
    pub description: String,
    /// Sorted by version, lowest first. Unversioned APIs have exactly one entry with `version: None`.
    pub versions: Vec<OperationVersion>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OperationVersion {
    pub version: Option<Version>,
    pub description: String,
    pub http: HttpBinding,
    /// Path, query and header parameters (body members are in `body`).
    pub params: Vec<Param>,
    pub body: Body,
    /// Schema of the successful reply.
    pub response: Option<Schema>,
    /// The successful reply is sent as it is (a file, a text), not framed as JSON.
    pub raw_response: bool,
    /// The successful reply is a JSON object with one (long) array member that the server
    /// streams page by page instead of building the reply in memory.
    pub streamed: Option<StreamedReply>,
    /// Callers must be authenticated (false for a login endpoint).
    pub authorize: bool,
    /// Error replies the spec documents.
    pub errors: Vec<ErrorReply>,
}

/// How a streamed reply is framed: its array member and, when the reply counts it, the
/// member holding that count (sent after the array, once it is known).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamedReply {
    pub items: String,
    pub count: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpBinding {
    /// `None` means any method is accepted (ClearML).
    pub method: Option<String>,
    /// Path template relative to the API's mounts, with `{name}` placeholders.
    pub path: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    None,
    Json { schema: Schema, required: bool },
    /// One JSON object per line, each a request of another operation version.
    JsonLines { operation: String, version: Option<Version> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamLocation {
    Path,
    Query,
    Header,
    /// A part of a `multipart/form-data` body.
    Form,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub location: ParamLocation,
    pub required: bool,
    pub description: String,
    pub schema: Schema,
}

/// One success status of an operation that has several ([`Kind::Replies`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub description: String,
    /// The JSON body; `None` for a reply without one.
    pub schema: Option<Schema>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ErrorReply {
    pub status: u16,
    pub description: String,
    pub schema: Option<Schema>,
}

/// A `major.minor` version, ordered numerically (2.9 < 2.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
}

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        let (a, b) = s.trim().split_once('.')?;
        Some(Version { major: a.parse().ok()?, minor: b.parse().ok()? })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Named schemas of one API, keyed by their spec name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TypeSpace {
    pub named: BTreeMap<String, Schema>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Schema {
    pub description: String,
    pub kind: Kind,
    pub default: Option<serde_json::Value>,
    /// `null` is an accepted value.
    pub nullable: bool,
}

impl Schema {
    pub fn new(kind: Kind) -> Schema {
        Schema { kind, ..Schema::default() }
    }
    pub fn described(mut self, description: impl Into<String>) -> Schema {
        self.description = description.into();
        self
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub enum Kind {
    /// Any JSON value.
    #[default]
    Any,
    Boolean,
    Integer { minimum: Option<i64>, maximum: Option<i64>, bits: u8 },
    Number {
        minimum: Option<f64>,
        maximum: Option<f64>,
        /// NaN and ±infinity travel as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
        nonfinite_as_strings: bool,
    },
    String { min_length: Option<u64>, max_length: Option<u64>, pattern: Option<String>, format: Option<String> },
    /// A point in time on the wire.
    Timestamp(TimestampFormat),
    /// A string from a closed set.
    Enum(Vec<String>),
    /// Exactly this value.
    Const(serde_json::Value),
    Array { items: Box<Schema>, min_items: Option<u64>, max_items: Option<u64> },
    /// An object with arbitrary keys and values of one schema.
    Map(Box<Schema>),
    Object(ObjectSchema),
    /// anyOf (`exclusive: false`) or oneOf (`exclusive: true`).
    Union {
        variants: Vec<Schema>,
        exclusive: bool,
        /// A readable name per variant (the referenced schema's name, the discriminator's
        /// mapping key, the schema's title), `""` where the spec gives none; may be empty.
        names: Vec<String>,
        /// The discriminator property: the variant is chosen by its value, which is the
        /// variant's name.
        tag: Option<String>,
    },
    /// The reply of an operation with several success statuses, each with its own body:
    /// only as [`OperationVersion::response`].
    Replies(Vec<Reply>),
    /// A named schema of the same API's [`TypeSpace`].
    Ref(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampFormat {
    /// Seconds since the epoch as a JSON number, integer or fractional.
    EpochSeconds,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObjectSchema {
    pub properties: Vec<Property>,
    pub additional: Additional,
    /// Sets of members of which at least one (or exactly one) must be present in full:
    /// JSON Schema's `anyOf`/`oneOf` of `required` lists beside `properties`.
    pub alternatives: Option<Alternatives>,
}

/// Alternative sets of required members: `{"oneOf": [{"required": ["id"]}, {"required": ["uid"]}]}`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Alternatives {
    pub sets: Vec<Vec<String>>,
    /// Exactly one set (`oneOf`) rather than at least one (`anyOf`).
    pub exclusive: bool,
}

impl Alternatives {
    /// Every member some set names, in order, once.
    pub fn members(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for m in self.sets.iter().flatten() {
            if !out.contains(&m.as_str()) {
                out.push(m);
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    pub name: String,
    pub required: bool,
    pub schema: Schema,
}

/// What happens to members the schema does not name.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Additional {
    /// Accepted and dropped.
    #[default]
    Ignore,
    /// Accepted and kept, each value matching the schema.
    Keep(Box<Schema>),
    /// Rejected.
    Forbid,
}

impl Api {
    /// Every operation version of the API with its service and operation.
    pub fn operation_versions(&self) -> impl Iterator<Item = (&Service, &Operation, &OperationVersion)> {
        self.services
            .iter()
            .flat_map(|s| s.operations.iter().flat_map(move |o| o.versions.iter().map(move |v| (s, o, v))))
    }

    /// The highest operation version any operation of this API defines.
    pub fn max_version(&self) -> Option<Version> {
        self.operation_versions().filter_map(|(_, _, v)| v.version).max()
    }
}
