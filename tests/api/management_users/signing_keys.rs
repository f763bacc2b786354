//! `/api/v2/keys/signing`: rotation keeps old tokens verifying, revocation removes a key and
//! everything it signed.

use serde_json::{json, Value};

use crate::management_support::*;

async fn revoke_key(api: &Api, token: String, kid: String) -> Res {
    api.send(api.request_as(
        &token,
        reqwest::Method::PUT,
        &format!("/keys/signing/{kid}/revoke"),
    ))
    .await
}

#[tokio::test]
async fn a_revoked_signing_key_leaves_the_jwks_and_nothing_it_signed_verifies() {
    let api = Api::start().await;
    let old_kid = api.get("/keys/signing").await.body[0]["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    // A token verified once (so remembered by the node) before the key is revoked.
    assert_eq!(api.get("/keys/signing").await.status, 200);
    let rotated = api.post("/keys/signing/rotate", Value::Null).await;
    let new_kid = rotated.body["kid"].as_str().unwrap().to_owned();

    // The key that signs cannot be revoked, an unknown one does not exist.
    assert_auth0_error(
        &revoke_key(&api, api.token.clone(), new_kid.clone()).await,
        400,
        "current_key_not_revocable",
    );
    assert_auth0_error(
        &revoke_key(&api, api.token.clone(), "nope".into()).await,
        404,
        "inexistent_signing_key",
    );

    let revoked = revoke_key(&api, api.token.clone(), old_kid.clone()).await;
    assert_eq!(revoked.status, 200, "{:?}", revoked.body);
    assert_eq!(revoked.body["kid"], json!(old_kid));
    assert_eq!(revoked.body["revoked"], true);
    assert!(revoked.body["revoked_at"].is_string());
    assert_eq!(revoked.body["published"], false);

    // Gone from the JWKS, and the token it signed is refused though the node had verified it.
    let kids = api.app.published_kids(&api.tenant).await;
    assert_eq!(kids, std::slice::from_ref(&new_kid));
    assert_eq!(api.get("/keys/signing").await.status, 401);

    // A fresh token (signed with the current key) sees the record; revoking again is a no-op.
    let fresh = api
        .app
        .management_token(
            &api.tenant,
            &["read:signing_keys", "update:signing_keys", "read:logs"],
        )
        .await;
    let again = revoke_key(&api, fresh.clone(), old_kid.clone()).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["revoked_at"], revoked.body["revoked_at"]);
    let listed = api
        .send(api.request_as(
            &fresh,
            reqwest::Method::GET,
            &format!("/keys/signing/{old_kid}"),
        ))
        .await;
    assert_eq!(listed.body["revoked"], true);
    let events = api
        .send(api.request_as(
            &fresh,
            reqwest::Method::GET,
            "/logs?type=signing_key_revoked",
        ))
        .await;
    assert_eq!(
        events.body.as_array().unwrap().len(),
        1,
        "{:?}",
        events.body
    );
    assert_eq!(events.body[0]["details"]["kid"], json!(old_kid));
}

#[tokio::test]
async fn signing_keys_rotate_and_the_old_key_keeps_verifying_its_tokens() {
    let api = Api::start().await;
    let keys = api.get("/keys/signing").await;
    assert_eq!(keys.status, 200);
    let list = keys.body.as_array().unwrap();
    assert_eq!(list.len(), 1);
    let old_kid = list[0]["kid"].as_str().unwrap().to_owned();
    assert_eq!(list[0]["current"], true);
    assert_eq!(list[0]["published"], true);
    assert!(list[0]["thumbprint"].is_string());
    for private in [
        "\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\"", "private",
    ] {
        assert!(!keys.body.to_string().contains(private), "{private} leaked");
    }

    let rotated = api.post("/keys/signing/rotate", Value::Null).await;
    assert_eq!(rotated.status, 201, "{:?}", rotated.body);
    let new_kid = rotated.body["kid"].as_str().unwrap();
    assert_ne!(new_kid, old_kid);

    // The token in hand was signed with the old key: still accepted.
    let after = api.get("/keys/signing").await;
    assert_eq!(after.status, 200);
    let old = api.get(&format!("/keys/signing/{old_kid}")).await;
    assert_eq!(old.body["current"], false);
    assert_eq!(old.body["previous"], true);
    assert_eq!(old.body["published"], true);
    let kids = api.app.published_kids(&api.tenant).await;
    assert!(kids.contains(&old_kid) && kids.iter().any(|k| k == new_kid));

    let fresh = api
        .app
        .management_token(&api.tenant, &["read:signing_keys"])
        .await;
    let header = jsonwebtoken::decode_header(&fresh).unwrap();
    assert_eq!(header.kid.as_deref(), Some(new_kid));
    assert_auth0_error(
        &api.get("/keys/signing/nope").await,
        404,
        "inexistent_signing_key",
    );
}
