//! The generated Python client on the project's real spec files: one service attribute per
//! IR service and one method per operation version, named like the server's trait methods.

use std::collections::BTreeSet;
use std::path::Path;

use specmill_codegen::ir::Protocol;
use specmill_codegen::load;
use specmill_codegen::names::field_name;

#[test]
fn one_method_per_operation_version() {
    let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
    let apis = load::load_dir(&specs).unwrap();
    let module = specmill_codegen::emit::python::client_module(&apis).unwrap();
    let mut expected = BTreeSet::new();
    for api in &apis {
        for (service, op, v) in api.operation_versions() {
            let method = match v.version {
                Some(ver) => format!("{}_v{}_{}", field_name(&op.name), ver.major, ver.minor),
                None => field_name(&op.name),
            };
            expected.insert((service.name.clone(), method));
        }
    }
    // Methods of the service classes, by class.
    let mut found = BTreeSet::new();
    let mut class = None;
    for line in module.lines() {
        if let Some(rest) = line.strip_prefix("class ") {
            class = rest.strip_suffix("Service:").map(str::to_string);
        } else if let (Some(c), Some(rest)) = (&class, line.strip_prefix("    def ")) {
            let name = rest.split('(').next().unwrap();
            if name != "__init__" {
                found.insert((c.clone(), name.to_string()));
            }
        }
    }
    let expected_by_class: BTreeSet<(String, String)> = expected
        .iter()
        .map(|(s, m)| (specmill_codegen::names::type_name(s), m.clone()))
        .collect();
    assert_eq!(found, expected_by_class);
    assert_eq!(found.len(), apis.iter().map(|a| a.operation_versions().count()).sum::<usize>());

    // Every service is an attribute of `Client`, each API framed by its protocol's transport.
    for attr in ["self.auth = AuthService(_clearml)", "self.events = EventsService(_clearml)", "self.sagemaker_metrics = SageMakerMetricsService(_sagemaker)", "self.lens = LensService(_lens)", "self.comet = CometService(_comet)", "self.dioptra = DioptraService(_dioptra)"] {
        assert!(module.contains(attr), "no `{attr}`");
    }
    for (api, transport) in [
        ("clearml", "_ClearMLTransport(self, login_path=\"/v2.1/auth.login\")"),
        ("sagemaker", "_AwsTransport(self, signing_name=\"sagemaker\")"),
        ("comet", "_OpenApiTransport(self, api_key=comet_api_key)"),
        ("lens", "_OpenApiTransport(self, api_key=None if lens_token is None else \"Bearer \" + lens_token)"),
        ("dioptra", "_OpenApiTransport(self)"),
    ] {
        assert!(module.contains(&format!("_{api} = {transport}")), "{api}: no `{transport}`");
    }
    assert!(apis.iter().any(|a| a.protocol == Protocol::AwsRestJson));
}
