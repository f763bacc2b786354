//! Failed sign-ins throttled, with the same answer for an unknown admin and a wrong password.

use crate::dashboard::*;
use crate::helpers::*;

#[tokio::test]
async fn dashboard_throttles_failed_sign_ins_with_the_same_answer_for_unknown_and_wrong() {
    let app = spawn_app().await;
    create_admin(&app, "real@example.com", true).await;
    let dash = Dash::new(&app);
    let csrf = dash.csrf("/signin").await;
    let attempt = |email: &'static str, password: String| {
        let dash = &dash;
        let csrf = csrf.clone();
        async move {
            let res = dash
                .post(
                    "/signin",
                    &[
                        ("csrf", csrf.as_str()),
                        ("email", email),
                        ("password", &password),
                    ],
                )
                .await;
            let status = res.status();
            // Present or not; its value ticks with the clock.
            let retry = res
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
            let body = res.text().await.unwrap().replace(email, "EMAIL");
            (status, retry, body)
        }
    };
    for i in 0..5 {
        let wrong = attempt("real@example.com", format!("wrong password {i}")).await;
        let started = std::time::Instant::now();
        let unknown = attempt("nobody@example.com", format!("wrong password {i}")).await;
        // An unknown e-mail still costs an argon2id verification (tens of milliseconds).
        assert!(
            started.elapsed() >= std::time::Duration::from_millis(10),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(wrong.0, 401);
        assert_eq!(wrong, unknown, "attempt {i}: same answer");
    }
    let wrong = attempt("real@example.com", PASSWORD.to_owned()).await;
    let unknown = attempt("nobody@example.com", PASSWORD.to_owned()).await;
    assert_eq!(wrong.0, 429, "even the right password waits");
    assert!(wrong.1.is_some_and(|n| n > 0 && n <= 900));
    assert!(unknown.1.is_some_and(|n| n > 0 && n <= 900));
    assert_eq!((wrong.0, wrong.2), (unknown.0, unknown.2));

    // Oversized input is refused like a wrong password, without hashing.
    let huge = attempt("big@example.com", "x".repeat(5000)).await;
    assert_eq!(huge.0, 401);

    // Per address: 20 failures from one client over many accounts.
    for i in 0..9 {
        let email: &'static str = Box::leak(format!("spray{i}@example.com").into_boxed_str());
        let res = attempt(email, "nope".into()).await;
        assert_eq!(res.0, 401, "spray {i}");
    }
    let blocked = attempt("fresh@example.com", "nope".into()).await;
    assert_eq!(blocked.0, 429, "the address is throttled");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM signin_attempts")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(
        rows > 0,
        "throttling lives in the database, shared by all nodes"
    );
}
