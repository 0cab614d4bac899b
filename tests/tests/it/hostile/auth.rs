//! Valid credentials for every surface, so that hostile bodies get past authentication and reach
//! the body validation behind it. Each operation gets a fresh account: some operations delete,
//! deactivate or sign out their caller, and mistyped passwords count toward lockout.

use idp_core::Context;
use idp_core::authz::entitlements;
use idp_core::model::{AuthContext, GrantType};
use idp_core::ops::{NewClient, Registration};
use idp_e2e::TestServer;
use uuid::Uuid;

use super::ops::{Operation, Surface};

/// Every account the fuzz creates has this password.
const PASSWORD: &str = "Hostile#Input-2026";
/// A confidential OIDC client (client_secret_basic on /token, /introspect, /revoke).
const RP_ID: &str = "hostile-rp";
const RP_SECRET: &str = "hostile-rp-secret-0123456789";
/// The calling application of the Switch surface (`SWI-CID`; its secret keys `SWI-CS`).
pub const SWITCH_CID: &str = "hostile-switch";
pub const SWITCH_SECRET: &str = "hostile-switch-secret-0123456789";
/// The Fintiv tenant and its api-key.
const FINTIV_TENANT: &str = "HOSTILE";
const FINTIV_KEY: &str = "hostile-app";

/// What `fresh` hands out: headers to send, and whether the Switch checksum is to be added.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    pub headers: Vec<(String, String)>,
    pub switch_checksum: bool,
}

pub struct Credentials {
    fintiv_tenant: Uuid,
    default_tenant: Uuid,
}

impl Credentials {
    /// Registers the clients, the Fintiv tenant and its admin role.
    pub async fn set_up(server: &TestServer) -> Self {
        let idp = &server.running.app.idp;
        let sys = Context::system();
        let default_tenant = idp.tenant("default").await.expect("default tenant").id;
        let client = |id: &str, secret: Option<&str>, grants: Vec<GrantType>| NewClient {
            id: id.into(),
            secret: secret.map(str::to_owned),
            redirect_uris: vec!["https://rp.example/cb".into()],
            grants,
            ..NewClient::default()
        };
        let rp_grants = vec![
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::ClientCredentials,
        ];
        idp.create_client(
            &sys,
            default_tenant,
            client(RP_ID, Some(RP_SECRET), rp_grants),
        )
        .await
        .expect("OIDC client");
        let switch_grants = vec![GrantType::ClientCredentials];
        let switch = client(SWITCH_CID, Some(SWITCH_SECRET), switch_grants);
        idp.create_client(&sys, default_tenant, switch)
            .await
            .expect("Switch client");
        let t = idp
            .create_tenant(&sys, FINTIV_TENANT, Some("hostile input"))
            .await
            .expect("Fintiv tenant");
        let all: Vec<String> = entitlements::ALL.iter().map(|e| e.to_string()).collect();
        idp.create_role(&sys, t.id, "ADMIN", Some("everything"), &all)
            .await
            .expect("admin role");
        let fintiv_grants = vec![GrantType::Password, GrantType::RefreshToken];
        idp.create_client(&sys, t.id, client(FINTIV_KEY, None, fintiv_grants))
            .await
            .expect("Fintiv api-key");
        Self {
            fintiv_tenant: t.id,
            default_tenant,
        }
    }

    /// Valid credentials for `op`: a new account (an admin on Fintiv) and its access token,
    /// issued to a client of the right tenant, in the headers the surface reads.
    pub async fn fresh(&self, server: &TestServer, op: &Operation) -> Auth {
        let (tenant, client, roles) = match op.surface {
            Surface::Fintiv => (self.fintiv_tenant, FINTIV_KEY, vec!["ADMIN".to_owned()]),
            _ => (self.default_tenant, "bioentrust", Vec::new()),
        };
        let token = token(server, tenant, client, roles).await;
        let bearer = ("authorization".to_owned(), format!("Bearer {token}"));
        let mut auth = Auth::default();
        match op.surface {
            Surface::Oidc if op.path != "/userinfo" => {
                let basic = base64_basic(RP_ID, RP_SECRET);
                auth.headers.push(("authorization".into(), basic));
            }
            Surface::Fintiv => {
                auth.headers.push(bearer);
                auth.headers.push(("api-key".into(), FINTIV_KEY.into()));
                auth.headers
                    .push(("tenantName".into(), FINTIV_TENANT.into()));
            }
            Surface::Switch => {
                auth.headers.push(bearer);
                auth.headers.push(("swi-cid".into(), SWITCH_CID.into()));
                auth.switch_checksum = true;
            }
            _ => auth.headers.push(bearer),
        }
        auth
    }
}

async fn token(server: &TestServer, tenant: Uuid, client: &str, roles: Vec<String>) -> String {
    let idp = &server.running.app.idp;
    let name = format!("h{}", Uuid::new_v4().simple());
    let account = idp
        .register(
            &Context::system(),
            tenant,
            Registration {
                username: name.clone(),
                email: Some(format!("{name}@example.com")),
                password: Some(PASSWORD.into()),
                roles,
                ..Registration::default()
            },
        )
        .await
        .expect("account");
    let client = idp.client(client).await.expect("client");
    let auth = AuthContext {
        amr: vec!["pwd".into()],
        ..AuthContext::default()
    };
    server
        .running
        .app
        .tokens
        .issue_for(&client, &account, auth)
        .await
        .expect("tokens")
        .access_token
}

fn base64_basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    let raw = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}
