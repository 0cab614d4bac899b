//! End-to-end tests: the server started in-process (`idp_server::App::build` +
//! `idp_server::serve::start`) on a free port and spoken to over real sockets with `reqwest`.
//! Each test runs once per store through [`both_stores!`]; the PostgreSQL variants skip without
//! `IDP_TEST_POSTGRES_URL` (and fail under CI).

mod bioentrust;
mod browser;
mod fintiv;
mod fintract;
mod hostile;
mod http_basics;
mod lifecycle;
mod mfa;
mod mfa_limits;
mod mfa_redis;
mod observability;
mod oidc_errors;
mod oidc_rp;
mod oidc_sessions;
mod oidc_util;
mod openapi;
mod races;
mod replicas;
mod security;
mod switch;

/// `both_stores!(name)` turns `async fn name(server: &idp_e2e::TestServer)` into the tests
/// `name::sqlite` and `name::postgres`, each on a fresh store; the server is stopped gracefully
/// afterwards and the stop must succeed.
#[macro_export]
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let server = idp_e2e::start_sqlite().await;
                assert_eq!(server.store_kind(), "sqlite");
                super::$name(&server).await;
                server.stop().await.expect("graceful stop");
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(server) = idp_e2e::start_postgres().await {
                    assert_eq!(server.store_kind(), "postgres");
                    super::$name(&server).await;
                    server.stop().await.expect("graceful stop");
                }
            }
        }
    )*};
}
