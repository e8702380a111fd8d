//! ClearML's `auth.login`: key/secret (HTTP Basic) in, a signed JWT out. The token carries
//! `api_version` = the highest version the ClearML specs define, which the SDK reads to pick
//! its request classes.

use serde_json::Map;
use specmill_runtime::auth::Auth;
use specmill_runtime::protocol::clearml::{refusal, Error};
use specmill_runtime::protocol::RequestContext;

use crate::generated::clearml::types::{LoginV2_1Request, LoginV2_1Response};
use crate::generated::clearml::{AuthService, MAX_VERSION};

pub struct ClearmlAuth {
    auth: Auth,
}

impl ClearmlAuth {
    pub fn new(auth: Auth) -> Self {
        ClearmlAuth { auth }
    }
}

impl AuthService for ClearmlAuth {
    async fn login_v2_1(&self, ctx: &RequestContext, request: LoginV2_1Request) -> Result<LoginV2_1Response, Error> {
        let identity = self.auth.clearml_identity(ctx.basic.as_ref()).map_err(refusal)?;
        let token = self.auth.clearml_token(identity, request.expiration_sec, MAX_VERSION);
        Ok(LoginV2_1Response { token: Some(token), extra: Map::new() })
    }
}
