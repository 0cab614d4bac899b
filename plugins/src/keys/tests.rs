//! Key ring tests over a tiny in-memory store that implements only the key methods.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use async_trait::async_trait;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hmac;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::Duration;
use idp_core::jose::{SignError, TokenSigner};
use idp_core::model::*;
use idp_core::store::{FailureCount, NewAccount, Store, StoreError, StoreResult};
use serde_json::{Value, json};
use uuid::Uuid;

use super::material::KeyMaterial;
use super::{KeyRing, generate_key, rsa_pkcs1_from_pkcs8};

// ---------------------------------------------------------------------------------------------
// The store double

#[derive(Default)]
struct MemStore {
    keys: Mutex<Vec<SigningKey>>,
    list_calls: AtomicUsize,
}

impl MemStore {
    fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn dyn_store(self: &Arc<Self>) -> Arc<dyn Store> {
        self.clone()
    }

    fn keys(&self) -> Vec<SigningKey> {
        self.keys.lock().unwrap().clone()
    }

    fn key(&self, kid: &str) -> SigningKey {
        self.keys()
            .into_iter()
            .find(|k| k.kid == kid)
            .expect("key in store")
    }

    /// Pretends `kid` was superseded at `at` (fake clock for expiry tests).
    fn set_superseded(&self, kid: &str, at: Timestamp) {
        let mut keys = self.keys.lock().unwrap();
        keys.iter_mut()
            .find(|k| k.kid == kid)
            .expect("key in store")
            .superseded_at = Some(at);
    }

    /// Stores a key as is, superseding nothing.
    fn push_raw(&self, key: SigningKey) {
        self.keys.lock().unwrap().push(key);
    }

    fn list_calls(&self) -> usize {
        self.list_calls.load(Ordering::SeqCst)
    }
}

fn not_used<T>() -> StoreResult<T> {
    Err(StoreError::Internal("not used".into()))
}

#[async_trait]
impl Store for MemStore {
    async fn insert_key(&self, key: &SigningKey) -> StoreResult<()> {
        let mut keys = self.keys.lock().unwrap();
        for old in keys.iter_mut() {
            if old.alg == key.alg && old.superseded_at.is_none() && old.created_at <= key.created_at
            {
                old.superseded_at = Some(key.created_at);
            }
        }
        keys.push(key.clone());
        Ok(())
    }

    async fn list_keys(&self) -> StoreResult<Vec<SigningKey>> {
        self.list_calls.fetch_add(1, Ordering::SeqCst);
        let mut keys = self.keys();
        keys.sort_by_key(|k| std::cmp::Reverse(k.created_at));
        Ok(keys)
    }

    async fn delete_keys_superseded_before(&self, before: Timestamp) -> StoreResult<u64> {
        let mut keys = self.keys.lock().unwrap();
        let count = keys.len();
        keys.retain(|k| k.superseded_at.is_none_or(|s| s >= before));
        Ok((count - keys.len()) as u64)
    }

    async fn ping(&self) -> StoreResult<()> {
        not_used()
    }
    async fn create_tenant(&self, _tenant: &Tenant) -> StoreResult<()> {
        not_used()
    }
    async fn tenant_by_id(&self, _id: Uuid) -> StoreResult<Option<Tenant>> {
        not_used()
    }
    async fn tenant_by_name(&self, _name: &str) -> StoreResult<Option<Tenant>> {
        not_used()
    }
    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        not_used()
    }
    async fn update_tenant(&self, _tenant: &Tenant) -> StoreResult<bool> {
        not_used()
    }
    async fn create_account(&self, _new: &NewAccount) -> StoreResult<Account> {
        not_used()
    }
    async fn account_by_id(&self, _id: Uuid) -> StoreResult<Option<Account>> {
        not_used()
    }
    async fn account_by_number(&self, _number: i64) -> StoreResult<Option<Account>> {
        not_used()
    }
    async fn find_account(
        &self,
        _tenant_id: Uuid,
        _key: &AccountKey,
    ) -> StoreResult<Option<Account>> {
        not_used()
    }
    async fn list_accounts(&self, _tenant_id: Uuid, _page: Page) -> StoreResult<Vec<Account>> {
        not_used()
    }
    async fn update_account(&self, _account: &Account) -> StoreResult<bool> {
        not_used()
    }
    async fn account_secrets(&self, _id: Uuid) -> StoreResult<Option<AccountSecrets>> {
        not_used()
    }
    async fn set_password_hash(
        &self,
        _id: Uuid,
        _hash: &str,
        _need_change: bool,
        _at: Timestamp,
    ) -> StoreResult<bool> {
        not_used()
    }
    async fn set_pin_hash(
        &self,
        _id: Uuid,
        _hash: Option<&str>,
        _at: Timestamp,
    ) -> StoreResult<bool> {
        not_used()
    }
    async fn record_failure(
        &self,
        _id: Uuid,
        _lock_after: u32,
        _at: Timestamp,
    ) -> StoreResult<Option<FailureCount>> {
        not_used()
    }
    async fn record_login(&self, _id: Uuid, _at: Timestamp) -> StoreResult<bool> {
        not_used()
    }
    async fn set_status(
        &self,
        _id: Uuid,
        _status: AccountStatus,
        _at: Timestamp,
    ) -> StoreResult<bool> {
        not_used()
    }
    async fn delete_account(&self, _id: Uuid) -> StoreResult<bool> {
        not_used()
    }
    async fn create_question(
        &self,
        _tenant_id: Uuid,
        _question: &str,
        _at: Timestamp,
    ) -> StoreResult<SecurityQuestion> {
        not_used()
    }
    async fn list_questions(&self, _tenant_id: Uuid) -> StoreResult<Vec<SecurityQuestion>> {
        not_used()
    }
    async fn put_answer(
        &self,
        _account_id: Uuid,
        _question_id: i64,
        _answer_hash: &str,
        _at: Timestamp,
    ) -> StoreResult<StoredAnswer> {
        not_used()
    }
    async fn update_answer(
        &self,
        _account_id: Uuid,
        _answer_id: i64,
        _question_id: i64,
        _answer_hash: &str,
        _at: Timestamp,
    ) -> StoreResult<Option<StoredAnswer>> {
        not_used()
    }
    async fn list_answers(&self, _account_id: Uuid) -> StoreResult<Vec<StoredAnswer>> {
        not_used()
    }
    async fn create_role(
        &self,
        _tenant_id: Uuid,
        _name: &str,
        _description: Option<&str>,
        _entitlements: &[String],
        _at: Timestamp,
    ) -> StoreResult<Role> {
        not_used()
    }
    async fn update_role(
        &self,
        _tenant_id: Uuid,
        _role_id: i64,
        _name: &str,
        _description: Option<&str>,
        _entitlements: Option<&[String]>,
        _at: Timestamp,
    ) -> StoreResult<Option<Role>> {
        not_used()
    }
    async fn delete_role(&self, _tenant_id: Uuid, _role_id: i64) -> StoreResult<bool> {
        not_used()
    }
    async fn role_by_id(&self, _tenant_id: Uuid, _role_id: i64) -> StoreResult<Option<Role>> {
        not_used()
    }
    async fn role_by_name(&self, _tenant_id: Uuid, _name: &str) -> StoreResult<Option<Role>> {
        not_used()
    }
    async fn list_roles(&self, _tenant_id: Uuid) -> StoreResult<Vec<Role>> {
        not_used()
    }
    async fn assign_role(
        &self,
        _account_id: Uuid,
        _role_id: i64,
        _at: Timestamp,
    ) -> StoreResult<bool> {
        not_used()
    }
    async fn remove_role(&self, _account_id: Uuid, _role_id: i64) -> StoreResult<bool> {
        not_used()
    }
    async fn account_roles(&self, _account_id: Uuid) -> StoreResult<Vec<RoleAssignment>> {
        not_used()
    }
    async fn create_client(&self, _client: &AppClient) -> StoreResult<()> {
        not_used()
    }
    async fn client_by_id(&self, _id: &str) -> StoreResult<Option<AppClient>> {
        not_used()
    }
    async fn list_clients(&self, _tenant_id: Uuid) -> StoreResult<Vec<AppClient>> {
        not_used()
    }
    async fn append_audit(&self, _record: &NewAudit) -> StoreResult<i64> {
        not_used()
    }
    async fn list_audit(
        &self,
        _tenant_id: Uuid,
        _account_id: Uuid,
        _page: Page,
    ) -> StoreResult<Vec<AuditRecord>> {
        not_used()
    }
    async fn audit_by_id(
        &self,
        _tenant_id: Uuid,
        _account_id: Uuid,
        _audit_id: i64,
    ) -> StoreResult<Option<AuditRecord>> {
        not_used()
    }
    async fn insert_code(&self, _code: &AuthorizationCode) -> StoreResult<()> {
        not_used()
    }
    async fn redeem_code(
        &self,
        _code_digest: &str,
        _first: &RefreshToken,
        _at: Timestamp,
    ) -> StoreResult<CodeRedemption> {
        not_used()
    }
    async fn create_family(&self, _family: &TokenFamily, _first: &RefreshToken) -> StoreResult<()> {
        not_used()
    }
    async fn rotate_refresh(
        &self,
        _token_digest: &str,
        _client_id: &str,
        _next: &RefreshToken,
        _at: Timestamp,
    ) -> StoreResult<RefreshRotation> {
        not_used()
    }
    async fn refresh_token(
        &self,
        _token_digest: &str,
    ) -> StoreResult<Option<(RefreshToken, TokenFamily)>> {
        not_used()
    }
    async fn family(&self, _id: Uuid) -> StoreResult<Option<TokenFamily>> {
        not_used()
    }
    async fn revoke_family(&self, _id: Uuid, _at: Timestamp) -> StoreResult<bool> {
        not_used()
    }
    async fn revoke_account_families(&self, _account_id: Uuid, _at: Timestamp) -> StoreResult<u64> {
        not_used()
    }
    async fn revoke_access_token(&self, _jti: &str, _expires_at: Timestamp) -> StoreResult<()> {
        not_used()
    }
    async fn access_token_revoked(
        &self,
        _jti: &str,
        _family_id: Option<Uuid>,
    ) -> StoreResult<bool> {
        not_used()
    }
    async fn create_session(&self, _session: &Session) -> StoreResult<()> {
        not_used()
    }
    async fn session(&self, _id_digest: &str) -> StoreResult<Option<Session>> {
        not_used()
    }
    async fn delete_session(&self, _id_digest: &str) -> StoreResult<bool> {
        not_used()
    }
    async fn grant_consent(
        &self,
        _account_id: Uuid,
        _client_id: &str,
        _scopes: &[String],
        _at: Timestamp,
    ) -> StoreResult<()> {
        not_used()
    }
    async fn consented_scopes(
        &self,
        _account_id: Uuid,
        _client_id: &str,
    ) -> StoreResult<Vec<String>> {
        not_used()
    }
    async fn insert_challenge(&self, _challenge: &Challenge) -> StoreResult<()> {
        not_used()
    }
    async fn challenge(&self, _id: Uuid) -> StoreResult<Option<Challenge>> {
        not_used()
    }
    async fn consume_challenge(&self, _id: Uuid, _at: Timestamp) -> StoreResult<bool> {
        not_used()
    }
    async fn consume_challenges_of(
        &self,
        _account_id: Uuid,
        _kind: ChallengeKind,
        _at: Timestamp,
    ) -> StoreResult<u64> {
        not_used()
    }
    async fn put_factor(&self, _factor: &Factor) -> StoreResult<()> {
        not_used()
    }
    async fn factors(&self, _account_id: Uuid) -> StoreResult<Vec<Factor>> {
        not_used()
    }
    async fn delete_factor(&self, _account_id: Uuid, _kind: FactorKind) -> StoreResult<bool> {
        not_used()
    }
    async fn purge_expired(&self, _now: Timestamp) -> StoreResult<u64> {
        not_used()
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

const HOUR: Duration = Duration::hours(1);

async fn open(store: &Arc<MemStore>, lifetime: Duration) -> KeyRing {
    KeyRing::open(store.dyn_store(), lifetime)
        .await
        .expect("open key ring")
}

fn sample_claims() -> Value {
    json!({
        "iss": "https://idp.example",
        "sub": "0190f6b4-6c1e-7d1a-9b1e-0a6c3e1f2d3c",
        "aud": ["api", "other"],
        "iat": 1_800_000_000,
        "exp": 1_800_000_900,
        "scope": "openid profile",
        "nested": {"list": [1, 2.5, -3, null, true, "x"], "empty": {}},
        "unicode": "héllo ✓ 😀 \"quoted\" \\ </script>",
        "big": 9_007_199_254_740_993u64,
    })
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(part: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(part).expect("base64url")
}

fn header_of(token: &str) -> Value {
    serde_json::from_slice(&unb64(token.split('.').next().unwrap())).unwrap()
}

/// `header.payload` for an arbitrary header and claims.
fn input(header: &Value, claims: &Value) -> String {
    format!("{}.{}", b64(header.to_string()), b64(claims.to_string()))
}

fn material(store: &MemStore, kid: &str) -> KeyMaterial {
    let key = store.key(kid);
    KeyMaterial::from_pkcs8(key.alg, &key.private_der).unwrap()
}

/// A token with any header, signed by the stored key `signer_kid` (whatever the header says).
fn forge(store: &MemStore, header: Value, claims: &Value, signer_kid: &str) -> String {
    let input = input(&header, claims);
    let signature = material(store, signer_kid).sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64(signature))
}

fn current(ring: &KeyRing, alg: SigningAlg) -> String {
    ring.current_kid(alg).expect("current key")
}

fn jwks_kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn assert_invalid(ring: &KeyRing, token: &str) {
    match ring.verify(token).await {
        Err(SignError::Invalid(_)) => {}
        other => panic!("expected Invalid for {:.120}…, got {other:?}", token),
    }
}

// ---------------------------------------------------------------------------------------------
// Generation and opening

#[test]
fn generated_keys_parse_and_carry_a_jwk() {
    for alg in SigningAlg::ALL {
        let key = generate_key(alg, now()).unwrap();
        assert_eq!(key.alg, alg);
        assert_eq!(key.kid.len(), 22, "16 random bytes, base64url");
        assert!(key.superseded_at.is_none());
        let jwk = &key.public_jwk;
        assert_eq!(jwk["kid"], json!(key.kid));
        assert_eq!(jwk["alg"], json!(alg.as_str()));
        assert_eq!(jwk["use"], json!("sig"));
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                jwk.get(private).is_none(),
                "{alg}: private member {private} in JWK"
            );
        }
        match alg {
            SigningAlg::ES256 => {
                assert_eq!(
                    (jwk["kty"].as_str(), jwk["crv"].as_str()),
                    (Some("EC"), Some("P-256"))
                );
                assert_eq!(unb64(jwk["x"].as_str().unwrap()).len(), 32);
                assert_eq!(unb64(jwk["y"].as_str().unwrap()).len(), 32);
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key.private_der)
                    .expect("PKCS#8 P-256");
            }
            SigningAlg::RS256 => {
                assert_eq!(jwk["kty"], json!("RSA"));
                assert_eq!(
                    unb64(jwk["n"].as_str().unwrap()).len(),
                    256,
                    "2048-bit modulus"
                );
                assert_eq!(jwk["e"], json!("AQAB"));
                RsaKeyPair::from_pkcs8(&key.private_der).expect("PKCS#8 RSA");
                let pkcs1 = rsa_pkcs1_from_pkcs8(&key.private_der).expect("PKCS#1 inside");
                RsaKeyPair::from_der(pkcs1).expect("PKCS#1 RSA");
            }
            SigningAlg::EdDSA => {
                assert_eq!(
                    (jwk["kty"].as_str(), jwk["crv"].as_str()),
                    (Some("OKP"), Some("Ed25519"))
                );
                assert_eq!(unb64(jwk["x"].as_str().unwrap()).len(), 32);
                Ed25519KeyPair::from_pkcs8(&key.private_der).expect("PKCS#8 Ed25519");
            }
        }
        assert_eq!(
            rsa_pkcs1_from_pkcs8(&key.private_der).is_some(),
            alg == SigningAlg::RS256
        );
    }
}

#[tokio::test]
async fn open_creates_one_key_per_algorithm_once() {
    let store = MemStore::new();
    let ring = open(&store, HOUR).await;
    assert_eq!(ring.algorithms(), SigningAlg::ALL.to_vec());
    assert_eq!(store.keys().len(), 3);
    let kids: Vec<String> = SigningAlg::ALL.iter().map(|&a| current(&ring, a)).collect();

    // A restart (or another replica) finds them and creates nothing.
    let again = open(&store, HOUR).await;
    assert_eq!(store.keys().len(), 3);
    for (alg, kid) in SigningAlg::ALL.into_iter().zip(&kids) {
        assert_eq!(&current(&again, alg), kid);
    }
    assert_eq!(jwks_kids(&ring.jwks().await), kids);
}

#[tokio::test]
async fn replicas_opening_together_agree_after_reload() {
    let store = MemStore::new();
    let (a, b) = tokio::join!(open(&store, HOUR), open(&store, HOUR));
    a.reload().await;
    b.reload().await;
    for alg in SigningAlg::ALL {
        assert_eq!(current(&a, alg), current(&b, alg), "{alg}");
    }
    // Whatever either signed verifies on the other.
    for alg in SigningAlg::ALL {
        let token = a.sign(alg, "JWT", &sample_claims()).await.unwrap();
        b.verify(&token).await.unwrap();
    }
}

#[tokio::test]
async fn unusable_stored_key_is_skipped_and_replaced() {
    let store = MemStore::new();
    store.push_raw(SigningKey {
        kid: "broken".into(),
        alg: SigningAlg::ES256,
        private_der: vec![0x30, 0x03, 0x02, 0x01, 0x00],
        public_jwk: json!({}),
        created_at: now(),
        superseded_at: None,
    });
    let ring = open(&store, HOUR).await;
    assert_eq!(ring.algorithms(), SigningAlg::ALL.to_vec());
    assert_ne!(current(&ring, SigningAlg::ES256), "broken");
    assert!(!jwks_kids(&ring.jwks().await).contains(&"broken".to_string()));
}

// ---------------------------------------------------------------------------------------------
// Signing and verifying

#[tokio::test]
async fn round_trip_for_every_algorithm() {
    let store = MemStore::new();
    let ring = open(&store, HOUR).await;
    let claims = sample_claims();
    for alg in SigningAlg::ALL {
        let token = ring.sign(alg, "at+jwt", &claims).await.unwrap();
        assert_eq!(token.split('.').count(), 3);
        let header = header_of(&token);
        assert_eq!(
            header,
            json!({"alg": alg.as_str(), "typ": "at+jwt", "kid": current(&ring, alg)}),
            "header carries exactly alg, typ and kid"
        );
        let verified = ring.verify(&token).await.unwrap();
        assert_eq!(verified.alg, alg);
        assert_eq!(verified.kid, current(&ring, alg));
        assert_eq!(verified.typ.as_deref(), Some("at+jwt"));
        assert_eq!(verified.claims, claims, "claims untouched");
    }
}

#[tokio::test]
async fn empty_typ_is_left_out() {
    let store = MemStore::new();
    let ring = open(&store, HOUR).await;
    let token = ring
        .sign(SigningAlg::EdDSA, "", &json!({"sub": "x"}))
        .await
        .unwrap();
    assert!(header_of(&token).get("typ").is_none());
    assert_eq!(ring.verify(&token).await.unwrap().typ, None);
}

#[tokio::test]
async fn claims_must_be_an_object() {
    let store = MemStore::new();
    let ring = open(&store, HOUR).await;
    for claims in [json!("a string"), json!([1, 2]), json!(null), json!(3)] {
        assert!(matches!(
            ring.sign(SigningAlg::ES256, "JWT", &claims).await,
            Err(SignError::Internal(_))
        ));
        // Nor is a validly signed non-object accepted.
        let kid = current(&ring, SigningAlg::ES256);
        let token = forge(&store, json!({"alg": "ES256", "kid": kid}), &claims, &kid);
        assert_invalid(&ring, &token).await;
    }
}

#[tokio::test]
async fn no_key_for_an_algorithm_is_no_key() {
    let store = MemStore::new();
    let ring = open(&store, HOUR).await;
    // Someone deletes every key but the ES256 one behind the ring's back.
    store
        .keys
        .lock()
        .unwrap()
        .retain(|k| k.alg == SigningAlg::ES256);
    ring.reload().await;
    assert_eq!(ring.algorithms(), vec![SigningAlg::ES256]);
    assert_eq!(
        ring.sign(SigningAlg::RS256, "JWT", &sample_claims()).await,
        Err(SignError::NoKey(SigningAlg::RS256))
    );
}

// ---------------------------------------------------------------------------------------------
// Refusals

#[tokio::test]
async fn alg_none_is_refused() {
    let store = MemStore::new();
    let ring = open(&store, HOUR).await;
    let claims = sample_claims();
    for alg in SigningAlg::ALL {
        let kid = current(&ring, alg);
        for none in ["none", "None", "NONE"] {
            let input = input(&json!({"alg": none, "kid": kid}), &claims);
            assert_invalid(&ring, &format!("{input}.")).await;
            assert_invalid(&ring, &format!("{input}.AAAA")).await;
            // Even with a genuine signature of the input.
            let signature = material(&store, &kid).sign(input.as_bytes()).unwrap();
            assert_invalid(&ring, &format!("{input}.{}", b64(signature))).await;
        }
    }
}

fn spki_of(key: &SigningKey) -> Vec<u8> {
    match key.alg {
        SigningAlg::ES256 => {
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key.private_der)
                .unwrap()
                .public_key()
                .as_der()
                .unwrap()
                .as_ref()
                .to_vec()
        }
        SigningAlg::RS256 => RsaKeyPair::from_pkcs8(&key.private_der)
            .unwrap()
            .public_key()
            .as_der()
            .unwrap()
            .as_ref()
            .to_vec(),
        SigningAlg::EdDSA => Ed25519KeyPair::from_pkcs8(&key.private_der)
            .unwrap()
            .public_key()
            .as_der()
            .unwrap()
            .as_ref()
            .to_vec(),
    }
}

#[tokio::test]
async fn hs256_with_the_public_key_as_secret_is_refused() {
    let store = MemStore::new();
    let ring = open(&store, HOUR).await;
    let claims = sample_claims();
    let jwks = ring.jwks().await;
    for jwk in jwks["keys"].as_array().unwrap() {
        let kid = jwk["kid"].as_str().unwrap();
        let spki = spki_of(&store.key(kid));
        // Every form an attacker might guess we would use as the HMAC secret.
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            STANDARD.encode(&spki)
        );
        let raw = unb64(
            jwk.get("x")
                .or(jwk.get("n"))
                .and_then(Value::as_str)
                .unwrap(),
        );
        let secrets: Vec<Vec<u8>> = vec![spki, pem.into_bytes(), jwk.to_string().into_bytes(), raw];
        for (mac, digest) in [
            ("HS256", hmac::HMAC_SHA256),
            ("HS384", hmac::HMAC_SHA384),
            ("HS512", hmac::HMAC_SHA512),
        ] {
            for secret in &secrets {
                let input = input(&json!({"alg": mac, "typ": "JWT", "kid": kid}), &claims);
                let tag = hmac::sign(&hmac::Key::new(digest, secret), input.as_bytes());
                assert_invalid(&ring, &format!("{input}.{}", b64(tag))).await;
            }
        }
    }
}

#[tokio::test]
async fn header_alg_must_match_the_keys_alg() {
    let store = MemStore::new();
    let ring = open(&store, HOUR).await;
    let claims = sample_claims();
    for key_alg in SigningAlg::ALL {
        let kid = current(&ring, key_alg);
        for header_alg in SigningAlg::ALL.into_iter().filter(|&a| a != key_alg) {
            let header = json!({"alg": header_alg.as_str(), "kid": kid});
            // Signed with a genuine key of the header's algorithm (e.g. RS256 on an EC kid)...
            let other = current(&ring, header_alg);
            assert_invalid(&ring, &forge(&store, header.clone(), &claims, &other)).await;
            // ... or by the named key itself: the header lies either way.
            assert_invalid(&ring, &forge(&store, header, &claims, &kid)).await;
        }
        // Algorithms we do not sign with at all.
        for alg in [
            "ES384", "ES512", "RS384", "RS512", "PS256", "ES256K", "Ed25519", "es256", "",
        ] {
            let token = forge(&store, json!({"alg": alg, "kid": kid}), &claims, &kid);
            assert_invalid(&ring, &token).await;
        }
    }
}

#[tokio::test]
async fn tampering_is_refused() {
    let store = MemStore::new();
    let ring = open(&store, HOUR).await;
    let claims = sample_claims();
    for alg in SigningAlg::ALL {
        let token = ring.sign(alg, "at+jwt", &claims).await.unwrap();
        let parts: Vec<&str> = token.split('.').collect();

        // A payload the attacker prefers, under the original signature.
        let mut evil = claims.clone();
        evil["sub"] = json!("admin");
        let forged = format!("{}.{}.{}", parts[0], b64(evil.to_string()), parts[2]);
        assert_invalid(&ring, &forged).await;
        // A different header (typ), under the original signature.
        let header = json!({"alg": alg.as_str(), "typ": "JWT", "kid": current(&ring, alg)});
        let forged = format!("{}.{}.{}", b64(header.to_string()), parts[1], parts[2]);
        assert_invalid(&ring, &forged).await;
        // The signature of another token of the same key.
        let other = ring
            .sign(alg, "at+jwt", &json!({"sub": "other"}))
            .await
            .unwrap();
        let other_sig = other.rsplit('.').next().unwrap();
        assert_invalid(&ring, &format!("{}.{}.{other_sig}", parts[0], parts[1])).await;
        // A truncated or extended signature.
        let sig = unb64(parts[2]);
        assert_invalid(
            &ring,
            &format!("{}.{}.{}", parts[0], parts[1], b64(&sig[1..])),
        )
        .await;
        let mut longer = sig.clone();
        longer.push(0);
        assert_invalid(&ring, &format!("{}.{}.{}", parts[0], parts[1], b64(longer))).await;

        // Every single-character change and every truncation fails.
        let replacements = ['A', 'B', 'g', '-', '_', '.', '=', '~', 'é', ' '];
        for (i, original) in token.char_indices() {
            for r in replacements.into_iter().filter(|&r| r != original) {
                let mutated = format!("{}{r}{}", &token[..i], &token[i + 1..]);
                assert_invalid(&ring, &mutated).await;
            }
            assert_invalid(&ring, &token[..i]).await;
        }
        ring.verify(&token)
            .await
            .expect("the original still verifies");
    }
}

#[tokio::test]
async fn garbage_is_refused_without_panic() {
    let store = MemStore::new();
    let ring = open(&store, HOUR).await;
    let kid = current(&ring, SigningAlg::ES256);
    let claims = sample_claims();
    let valid = ring.sign(SigningAlg::ES256, "JWT", &claims).await.unwrap();
    let parts: Vec<&str> = valid.split('.').collect();
    let with_header = |header: String| format!("{}.{}.{}", b64(header), parts[1], parts[2]);
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases: Vec<String> = vec![
        String::new(),
        ".".into(),
        "..".into(),
        "...".into(),
        "....".into(),
        "a.b.c".into(),
        "a.b".into(),
        "a.b.c.d".into(),
        " ".into(),
        "\0".into(),
        "😀.😀.😀".into(),
        "eyJ.eyJ.sig".into(),
        format!("{}..{}", parts[0], parts[2]),
        format!("{}.{}.", parts[0], parts[1]),
        format!(".{}.{}", parts[1], parts[2]),
        format!("{}.{}.{}.{}", parts[0], parts[1], parts[2], parts[2]),
        format!("{valid}."),
        format!(".{valid}"),
        format!("{valid} "),
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}==", parts[0], parts[1], parts[2]),
        // Headers that are not what they should be.
        with_header("not json".into()),
        with_header("[]".into()),
        with_header("null".into()),
        with_header(r#"{"alg":"ES256"}"#.into()),
        with_header(r#"{"kid":"x"}"#.into()),
        with_header(format!(r#"{{"alg":"ES256","kid":{kid:?},"alg":"ES256"}}"#)),
        with_header(format!(r#"{{"alg":"ES256","kid":{kid:?},"crit":["exp"]}}"#)),
        with_header(format!(r#"{{"alg":"ES256","kid":{kid:?},"b64":false}}"#)),
        with_header(format!(r#"{{"alg":"ES256","kid":{kid:?},"typ":7}}"#)),
        with_header(r#"{"alg":"ES256","kid":""}"#.into()),
        with_header(format!(r#"{{"alg":"ES256","kid":"{}"}}"#, "k".repeat(1000))),
        with_header(nested.clone()),
        format!("{}.{}.{}", parts[0], b64(&nested), parts[2]),
        // Huge inputs.
        ".".repeat(1 << 20),
        format!(
            "{}.{}.{}",
            "A".repeat(1 << 20),
            "B".repeat(1 << 20),
            "C".repeat(1 << 20)
        ),
        format!("{}.{}.{}", parts[0], "e".repeat(60_000), parts[2]),
    ];
    for case in &cases {
        assert_invalid(&ring, case).await;
    }
    // Authentically signed payloads that are not claims.
    for payload in ["", "not json", "[]", nested.as_str()] {
        let header = b64(json!({"alg": "ES256", "kid": kid}).to_string());
        let input = format!("{header}.{}", b64(payload));
        let signature = material(&store, &kid).sign(input.as_bytes()).unwrap();
        assert_invalid(&ring, &format!("{input}.{}", b64(signature))).await;
    }
}

#[tokio::test]
async fn unknown_kids_reload_at_most_once_per_interval() {
    let store = MemStore::new();
    let ring = open(&store, HOUR).await;
    let signer = current(&ring, SigningAlg::ES256);
    let before = store.list_calls();
    for i in 0..200 {
        let header = json!({"alg": "ES256", "kid": format!("garbage-{i}")});
        assert_invalid(&ring, &forge(&store, header, &sample_claims(), &signer)).await;
    }
    assert_eq!(
        store.list_calls() - before,
        1,
        "one reload for a flood of unknown kids"
    );

    // Refusals that are not about an unknown kid never reach the store, even unthrottled.
    let quick = open(&store, HOUR)
        .await
        .with_unknown_kid_reload_interval(StdDuration::ZERO);
    let after_open = store.list_calls();
    for token in [
        format!(
            "{}.e30.AAAA",
            b64(json!({"alg": "none", "kid": "new"}).to_string())
        ),
        format!(
            "{}.e30.AAAA",
            b64(json!({"alg": "HS256", "kid": "new"}).to_string())
        ),
        format!(
            "{}.e30.AAAA",
            b64(json!({"alg": "ES256", "kid": signer}).to_string())
        ),
        format!(
            "{}.e30.AAAA",
            b64(json!({"alg": "RS256", "kid": signer}).to_string())
        ),
        "garbage".to_string(),
    ] {
        assert_invalid(&quick, &token).await;
    }
    assert_eq!(store.list_calls(), after_open);
    // Unthrottled, every unknown kid reloads.
    for i in 0..3 {
        let header = json!({"alg": "ES256", "kid": format!("unknown-{i}")});
        assert_invalid(&quick, &forge(&store, header, &sample_claims(), &signer)).await;
    }
    assert_eq!(store.list_calls(), after_open + 3);
}

// ---------------------------------------------------------------------------------------------
// Rotation, expiry, replicas

#[tokio::test]
async fn rotation_keeps_old_tokens_valid_and_publishes_both() {
    let store = MemStore::new();
    let ring = open(&store, HOUR).await;
    let claims = sample_claims();
    let mut old_tokens = Vec::new();
    let mut old_kids = Vec::new();
    for alg in SigningAlg::ALL {
        old_tokens.push(ring.sign(alg, "JWT", &claims).await.unwrap());
        old_kids.push(current(&ring, alg));
    }

    let rotated = ring.rotate().await.unwrap();
    assert_eq!(
        rotated.iter().map(|k| k.alg).collect::<Vec<_>>(),
        SigningAlg::ALL.to_vec()
    );
    for (alg, old) in SigningAlg::ALL.into_iter().zip(&old_kids) {
        let new = current(&ring, alg);
        assert_ne!(&new, old, "{alg} rotated");
        assert!(rotated.iter().any(|k| k.kid == new));
        let token = ring.sign(alg, "JWT", &claims).await.unwrap();
        assert_eq!(header_of(&token)["kid"], json!(new), "the new key signs");
        assert_eq!(ring.verify(&token).await.unwrap().kid, new);
        assert!(store.key(old).superseded_at.is_some());
    }
    for (token, old) in old_tokens.iter().zip(&old_kids) {
        assert_eq!(
            &ring.verify(token).await.unwrap().kid,
            old,
            "old tokens still verify"
        );
    }
    let kids = jwks_kids(&ring.jwks().await);
    assert_eq!(kids.len(), 6);
    // Current keys first, then the superseded ones.
    for alg in SigningAlg::ALL {
        assert!(kids[..3].contains(&current(&ring, alg)));
    }
    for old in &old_kids {
        assert!(kids[3..].contains(old));
    }
}

#[tokio::test]
async fn superseded_keys_retire_after_the_token_lifetime() {
    let store = MemStore::new();
    let ring = open(&store, HOUR).await;
    let claims = sample_claims();
    let mut old_tokens = Vec::new();
    for alg in SigningAlg::ALL {
        old_tokens.push(ring.sign(alg, "JWT", &claims).await.unwrap());
    }
    let old_kids: Vec<String> = SigningAlg::ALL.iter().map(|&a| current(&ring, a)).collect();
    ring.rotate().await.unwrap();

    // Superseded 59 minutes ago: still live.
    for kid in &old_kids {
        store.set_superseded(kid, now() - Duration::minutes(59));
    }
    ring.reload().await;
    assert_eq!(jwks_kids(&ring.jwks().await).len(), 6);
    for token in &old_tokens {
        ring.verify(token).await.unwrap();
    }

    // Superseded 61 minutes ago with a one-hour token lifetime: gone from JWKS and refused.
    for kid in &old_kids {
        store.set_superseded(kid, now() - Duration::minutes(61));
    }
    ring.reload().await;
    let kids = jwks_kids(&ring.jwks().await);
    assert_eq!(kids.len(), 3);
    for kid in &old_kids {
        assert!(!kids.contains(kid));
    }
    for token in &old_tokens {
        assert_invalid(&ring, token).await;
    }
    // The next rotation deletes them from the store.
    ring.rotate().await.unwrap();
    let stored: Vec<String> = store.keys().into_iter().map(|k| k.kid).collect();
    assert_eq!(stored.len(), 6);
    for kid in &old_kids {
        assert!(!stored.contains(kid));
    }
}

#[tokio::test]
async fn retirement_happens_on_the_clock_without_a_reload() {
    let store = MemStore::new();
    let ring = open(&store, Duration::seconds(1)).await;
    let old = ring
        .sign(SigningAlg::ES256, "JWT", &sample_claims())
        .await
        .unwrap();
    let old_kids: Vec<String> = SigningAlg::ALL.iter().map(|&a| current(&ring, a)).collect();
    ring.rotate().await.unwrap();
    // Key generation takes a while; count the lifetime from now on.
    for kid in &old_kids {
        store.set_superseded(kid, now());
    }
    ring.reload().await;
    ring.verify(&old).await.expect("within the lifetime");
    assert_eq!(jwks_kids(&ring.jwks().await).len(), 6);
    tokio::time::sleep(StdDuration::from_millis(1300)).await;
    assert_invalid(&ring, &old).await;
    assert_eq!(jwks_kids(&ring.jwks().await).len(), 3);
}

#[tokio::test]
async fn a_replica_learns_of_a_key_rotated_elsewhere() {
    let store = MemStore::new();
    let a = open(&store, HOUR).await;
    let b = open(&store, HOUR).await;
    let before: Vec<String> = SigningAlg::ALL
        .iter()
        .map(|&alg| current(&b, alg))
        .collect();

    a.rotate().await.unwrap();
    for (alg, old) in SigningAlg::ALL.into_iter().zip(&before) {
        let token = a.sign(alg, "JWT", &sample_claims()).await.unwrap();
        assert_ne!(header_of(&token)["kid"], json!(old));
        // B has never seen this kid: it reloads and accepts.
        let verified = b
            .verify(&token)
            .await
            .expect("replica verifies a rotated key");
        assert_eq!(verified.kid, current(&a, alg));
    }
    // The reload also switched B's signing keys and JWKS.
    for alg in SigningAlg::ALL {
        assert_eq!(current(&b, alg), current(&a, alg));
    }
    assert_eq!(jwks_kids(&b.jwks().await), jwks_kids(&a.jwks().await));
}

#[tokio::test]
async fn the_reloader_picks_up_rotations() {
    let store = MemStore::new();
    let a = open(&store, HOUR).await;
    let b = Arc::new(open(&store, HOUR).await);
    let task = b.spawn_reloader(StdDuration::from_secs(1));
    a.rotate().await.unwrap();
    let new = current(&a, SigningAlg::RS256);
    let deadline = Instant::now() + StdDuration::from_secs(5);
    while current(&b, SigningAlg::RS256) != new {
        assert!(
            Instant::now() < deadline,
            "reloader did not pick up the rotation"
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    drop(b);
    tokio::time::timeout(StdDuration::from_secs(3), task)
        .await
        .expect("reloader stops once the ring is dropped")
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Interoperability: an independent implementation (jsonwebtoken) agrees with ours.

fn jwt_alg(alg: SigningAlg) -> jsonwebtoken::Algorithm {
    match alg {
        SigningAlg::ES256 => jsonwebtoken::Algorithm::ES256,
        SigningAlg::RS256 => jsonwebtoken::Algorithm::RS256,
        SigningAlg::EdDSA => jsonwebtoken::Algorithm::EdDSA,
    }
}

fn jwt_encoding_key(key: &SigningKey) -> jsonwebtoken::EncodingKey {
    use jsonwebtoken::EncodingKey;
    match key.alg {
        SigningAlg::ES256 => EncodingKey::from_ec_der(&key.private_der),
        SigningAlg::RS256 => {
            EncodingKey::from_rsa_der(rsa_pkcs1_from_pkcs8(&key.private_der).unwrap())
        }
        SigningAlg::EdDSA => EncodingKey::from_ed_der(&key.private_der),
    }
}

#[tokio::test]
async fn jsonwebtoken_agrees_both_ways() {
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{DecodingKey, Header, Validation, decode, encode};

    let store = MemStore::new();
    let ring = open(&store, HOUR).await;
    let claims = sample_claims();
    let jwks = ring.jwks().await;
    for alg in SigningAlg::ALL {
        let kid = current(&ring, alg);
        let key = store.key(&kid);
        let published = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == json!(kid))
            .unwrap();
        assert_eq!(published, &key.public_jwk, "stored and published JWK agree");

        // Our token, checked by jsonwebtoken against the published JWK.
        let token = ring.sign(alg, "at+jwt", &claims).await.unwrap();
        let jwk: Jwk = serde_json::from_value(published.clone()).unwrap();
        let mut validation = Validation::new(jwt_alg(alg));
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let decoded = decode::<Value>(&token, &DecodingKey::from_jwk(&jwk).unwrap(), &validation)
            .unwrap_or_else(|e| panic!("{alg}: jsonwebtoken refused our token: {e}"));
        assert_eq!(decoded.claims, claims);
        assert_eq!(decoded.header.kid.as_deref(), Some(kid.as_str()));

        // jsonwebtoken accepts our stored private key and derives the same public JWK.
        let theirs = Jwk::from_encoding_key(&jwt_encoding_key(&key), jwt_alg(alg)).unwrap();
        let theirs = serde_json::to_value(theirs).unwrap();
        for member in ["kty", "crv", "x", "y", "n", "e"] {
            assert_eq!(
                theirs.get(member),
                published.get(member),
                "{alg}: JWK member {member}"
            );
        }

        // jsonwebtoken signing with our stored private key: we accept it.
        let mut header = Header::new(jwt_alg(alg));
        header.kid = Some(kid.clone());
        let token = encode(&header, &claims, &jwt_encoding_key(&key)).unwrap();
        let verified = ring.verify(&token).await.unwrap();
        assert_eq!(verified.kid, kid);
        assert_eq!(verified.claims, claims);
        assert_eq!(verified.typ.as_deref(), Some("JWT"));
    }
}

// ---------------------------------------------------------------------------------------------
// Rough speed, by hand: cargo test --release -p idp-plugins rough_speed -- --ignored --nocapture

#[tokio::test(flavor = "current_thread")]
#[ignore = "timing; run by hand in release"]
async fn rough_speed() {
    let store = MemStore::new();
    let ring = open(&store, HOUR).await;
    let claims = sample_claims();
    for alg in SigningAlg::ALL {
        let n = if alg == SigningAlg::RS256 {
            2_000
        } else {
            20_000
        };
        let started = Instant::now();
        let mut token = String::new();
        for _ in 0..n {
            token = ring.sign(alg, "at+jwt", &claims).await.unwrap();
        }
        let sign = f64::from(n) / started.elapsed().as_secs_f64();
        let started = Instant::now();
        for _ in 0..n {
            ring.verify(&token).await.unwrap();
        }
        let verify = f64::from(n) / started.elapsed().as_secs_f64();
        // The bare crypto, for comparison: what the framing and JSON cost on top.
        let (input, signature) = token.rsplit_once('.').unwrap();
        let signature = unb64(signature);
        let key = material(&store, &current(&ring, alg));
        let started = Instant::now();
        for _ in 0..n {
            key.sign(input.as_bytes()).unwrap();
        }
        let raw_sign = f64::from(n) / started.elapsed().as_secs_f64();
        let started = Instant::now();
        for _ in 0..n {
            assert!(key.verify(input.as_bytes(), &signature));
        }
        let raw_verify = f64::from(n) / started.elapsed().as_secs_f64();
        println!(
            "{alg}: {sign:>7.0} signs/s, {verify:>7.0} verifies/s ({} byte token); \
             bare crypto {raw_sign:>7.0} / {raw_verify:>7.0}",
            token.len()
        );
    }
}
