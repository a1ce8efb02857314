//! Fault injection over HTTP: latency, 429 with Retry-After, 5xx, dropped connections.

mod common;

use std::time::{Duration, Instant};

use common::{Api, MERGE};
use kiln_test_apiserver::{Fault, Options};

const CM: &str = "/api/v1/namespaces/default/configmaps/demo";
const BODY: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\ndata: {x: '1'}\n";

#[tokio::test]
async fn every_third_request_is_throttled_with_retry_after() {
    let api = Api::start(Options {
        faults: vec![Fault::parse("429:every=3:retry-after=7").expect("valid spec")],
        ..Options::default()
    })
    .await;
    let mut codes = Vec::new();
    for _ in 0..6 {
        let answer = api.get("/api/v1/namespaces/default").await;
        if answer.code == 429 {
            assert_eq!(
                answer
                    .headers
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()),
                Some("7")
            );
            assert_eq!(answer.body["reason"], "TooManyRequests");
            assert_eq!(answer.body["details"]["retryAfterSeconds"], 7);
        }
        codes.push(answer.code);
    }
    assert_eq!(codes, [200, 200, 429, 200, 200, 429]);
    let logged: Vec<u16> = api
        .server
        .requests()
        .entries()
        .iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(logged, codes);
}

#[tokio::test]
async fn first_two_patches_fail_with_503_then_succeed() {
    let api = Api::new().await;
    api.apply(CM, "kiln", BODY, false).await;
    api.server
        .faults()
        .add(Fault::parse("503:count=2:verb=PATCH").expect("valid spec"));
    assert_eq!(api.get(CM).await.code, 200, "reads are not selected");
    let codes = [
        api.call("PATCH", CM, MERGE, r#"{"data":{"x":"2"}}"#)
            .await
            .code,
        api.apply(CM, "kiln", BODY, false).await.code,
        api.call("PATCH", CM, MERGE, r#"{"data":{"x":"3"}}"#)
            .await
            .code,
    ];
    assert_eq!(codes, [503, 503, 200]);
    assert_eq!(api.get(CM).await.body["data"]["x"], "3");
    assert_eq!(api.server.faults().fired(), [2]);
}

#[tokio::test]
async fn dropped_connection_then_normal_service() {
    let api = Api::new().await;
    api.server
        .faults()
        .add(Fault::drop_connection().count(1).verb("apply"));
    let dropped = api
        .try_call(
            "PATCH",
            &format!("{CM}?fieldManager=kiln"),
            common::APPLY,
            BODY,
        )
        .await;
    assert!(dropped.is_err(), "the connection closes without an answer");
    assert_eq!(
        api.get(CM).await.code,
        404,
        "the dropped request did nothing"
    );
    assert_eq!(api.apply(CM, "kiln", BODY, false).await.code, 201);
    let statuses: Vec<(String, u16)> = api
        .server
        .requests()
        .entries()
        .into_iter()
        .map(|e| (e.verb, e.status))
        .collect();
    assert_eq!(statuses[0], ("apply".to_owned(), 0));
}

#[tokio::test]
async fn latency_by_path_and_clearing_faults() {
    let api = Api::new().await;
    api.server
        .faults()
        .add(Fault::latency(Duration::from_millis(600)).path("/configmaps"));
    let start = Instant::now();
    api.get("/api/v1/namespaces/default").await;
    assert!(
        start.elapsed() < Duration::from_millis(600),
        "other paths are not delayed"
    );
    let start = Instant::now();
    assert_eq!(api.get(CM).await.code, 404);
    assert!(start.elapsed() >= Duration::from_millis(600));
    api.server.faults().clear();
    let start = Instant::now();
    api.get(CM).await;
    assert!(start.elapsed() < Duration::from_millis(600));
}

#[tokio::test]
async fn internal_error_status_shape() {
    let api = Api::start(Options {
        faults: vec![Fault::status(500).count(1)],
        ..Options::default()
    })
    .await;
    let failed = api.get(CM).await;
    assert_eq!(failed.code, 500);
    assert_eq!(failed.body["kind"], "Status");
    assert_eq!(failed.body["reason"], "InternalError");
    assert_eq!(api.get(CM).await.code, 404);
}
