//! A whole login against the fake (authorize, token, `current/Me`), and the server under each
//! runtime it must serve on.

use super::*;

#[tokio::test]
async fn a_login_goes_from_authorize_to_token_to_me_with_awkward_characters_intact() {
    let (exact, http) = spawn().await;

    let response = authorize(&exact, &http, &valid_query()).await;
    let location = response.headers()[LOCATION]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        location.starts_with(&format!("{CALLBACK}&code=")),
        "code appended to the registered query: {location}"
    );
    let raw_code = location
        .split("&code=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .unwrap_or_default();
    assert!(
        !raw_code.contains(['!', '+', '/', '=']),
        "percent-encoded in the Location: {raw_code}"
    );
    let params = callback_params(&response);
    assert_eq!(param(&params, "tenant"), Some("acme"));
    assert_eq!(param(&params, "state"), Some(STATE));
    let code = param(&params, "code").expect("code").to_owned();
    assert!(has_awkward_chars(&code), "{code}");

    let response = exchange(&exact, &http, &code).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(content_type(&response).starts_with("application/json"));
    let body = json_of(response).await;
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(
        body["expires_in"],
        Value::String("600".into()),
        "a string, as at Exact"
    );
    let access = body["access_token"].as_str().expect("access token");
    let refresh_token = body["refresh_token"].as_str().expect("refresh token");
    assert!(has_awkward_chars(access) && has_awkward_chars(refresh_token));

    let response = get_me(&exact, &http, Some(access)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let me = json_of(response).await;
    let user = &me["d"]["results"][0];
    let jan = FakeUser::jan();
    assert_eq!(user["UserID"], jan.user_id.as_str());
    assert_eq!(user["UserName"], "jan@example.nl");
    assert_eq!(user["FullName"], "Jan de Vries");
    assert_eq!(user["MiddleName"], "de");
    assert_eq!(user["LanguageCode"], "nl-NL");
    assert_eq!(user["Language"], "NL");
    assert_eq!(user["CurrentDivision"], 123456);
    assert_eq!(user["__metadata"]["type"], "Exact.Web.Api.System.Me");
    assert_eq!(
        user["__metadata"]["uri"],
        format!(
            "{}/api/v1/current/Me(guid'{}')",
            exact.base_url(),
            jan.user_id
        )
    );
    assert!(user["DivisionCustomer"]
        .as_str()
        .is_some_and(|g| Uuid::parse_str(g).is_ok()));
    assert!(user["EmployeeID"]
        .as_str()
        .is_some_and(|g| Uuid::parse_str(g).is_ok()));

    let recorded = exact.token_requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].status, 200);
    assert_eq!(recorded[0].form["code"], code, "decoded exactly");
    assert_eq!(recorded[0].form["client_secret"], SECRET);
    assert_eq!(
        recorded[0].content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(exact.authorize_requests().len(), 1);
    assert_eq!(exact.authorize_requests()[0].query["state"], STATE);
    let me_requests = exact.me_requests();
    assert_eq!(me_requests.len(), 1);
    assert_eq!(me_requests[0].status, 200);
    assert_eq!(
        me_requests[0].authorization.as_deref(),
        Some(format!("Bearer {access}").as_str())
    );
    exact.stop().await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_serves_under_a_multi_thread_tokio_runtime_and_stops() {
    let (exact, http) = spawn().await;
    let base = exact.base_url();
    let body = tokens(&exact, &http).await;
    assert!(body["access_token"].is_string());
    exact.stop().await;
    assert!(http
        .get(format!("{base}/api/v1/current/Me"))
        .send()
        .await
        .is_err());
}

#[actix_web::test]
async fn it_serves_under_the_actix_runtime_too() {
    let (exact, http) = spawn().await;
    let body = tokens(&exact, &http).await;
    assert!(body["access_token"].is_string());
    exact.stop().await;
}
