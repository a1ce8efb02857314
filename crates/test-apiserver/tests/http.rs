//! CRUD, errors, selectors, patches, garbage collection, watch and CRDs over HTTP.

mod common;

use std::time::Duration;

use common::{Api, JSON, JSON_PATCH, MERGE, STRATEGIC, rv};
use kiln_test_apiserver::Options;
use serde_json::{Value, json};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

fn cm(name: &str, labels: &Value) -> String {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}).to_string()
}

#[tokio::test]
async fn create_get_update_with_real_status_errors() {
    let api = Api::new().await;
    let created = api.call("POST", CMS, JSON, &cm("a", &json!({}))).await;
    assert_eq!(created.code, 201);
    let meta = &created.body["metadata"];
    assert!(meta["uid"].is_string() && meta["creationTimestamp"].is_string());
    assert_eq!(
        created.body["metadata"]["managedFields"][0]["manager"],
        "http-test"
    );

    let dup = api.call("POST", CMS, JSON, &cm("a", &json!({}))).await;
    assert_eq!(
        (dup.code, dup.body["reason"].as_str()),
        (409, Some("AlreadyExists"))
    );
    assert_eq!(dup.body["message"], "configmaps \"a\" already exists");

    let missing = api.get(&format!("{CMS}/nope")).await;
    assert_eq!(missing.code, 404);
    assert_eq!(
        missing.body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": "configmaps \"nope\" not found", "reason": "NotFound",
               "details": {"name": "nope", "kind": "configmaps"}, "code": 404})
    );
    let deploy = api
        .get("/apis/apps/v1/namespaces/default/deployments/nope")
        .await;
    assert_eq!(
        deploy.body["message"],
        "deployments.apps \"nope\" not found"
    );

    let mut stale = created.body.clone();
    stale["data"]["k"] = json!("w");
    let updated = api
        .call("PUT", &format!("{CMS}/a"), JSON, &stale.to_string())
        .await;
    assert_eq!(updated.code, 200);
    assert!(rv(&updated.body) > rv(&created.body));
    let conflict = api
        .call("PUT", &format!("{CMS}/a"), JSON, &stale.to_string())
        .await;
    assert_eq!(conflict.code, 409);
    assert_eq!(
        conflict.body["message"],
        "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; please apply your changes to the latest version and try again"
    );
    let no_ns = api
        .call(
            "POST",
            "/api/v1/namespaces/nope/configmaps",
            JSON,
            &cm("a", &json!({})),
        )
        .await;
    assert_eq!(no_ns.code, 404);
    let mut generated = Vec::new();
    for _ in 0..3 {
        let made = api
            .call("POST", CMS, JSON, r#"{"metadata":{"generateName":"gen-"}}"#)
            .await;
        assert_eq!(made.code, 201);
        generated.push(
            made.body["metadata"]["name"]
                .as_str()
                .expect("name")
                .to_owned(),
        );
    }
    assert!(
        generated
            .iter()
            .all(|n| n.len() == 9 && n.starts_with("gen-")),
        "{generated:?}"
    );
    generated.sort();
    generated.dedup();
    assert_eq!(generated.len(), 3, "generated names differ");
    let nameless = api.call("POST", CMS, JSON, r#"{"metadata":{}}"#).await;
    assert_eq!(
        (nameless.code, nameless.body["reason"].as_str()),
        (422, Some("Invalid"))
    );
    let cluster = api
        .call(
            "POST",
            "/api/v1/namespaces",
            JSON,
            r#"{"metadata":{"name":"team"}}"#,
        )
        .await;
    assert_eq!(cluster.code, 201);
    assert!(cluster.body["metadata"].get("namespace").is_none());
}

#[tokio::test]
async fn list_with_label_and_field_selectors() {
    let api = Api::new().await;
    for (name, labels) in [
        ("a", json!({"app": "x", "tier": "web"})),
        ("b", json!({"app": "y"})),
        ("c", json!({})),
    ] {
        assert_eq!(
            api.call("POST", CMS, JSON, &cm(name, &labels)).await.code,
            201
        );
    }
    api.call(
        "POST",
        "/api/v1/namespaces",
        JSON,
        r#"{"metadata":{"name":"other"}}"#,
    )
    .await;
    api.call(
        "POST",
        "/api/v1/namespaces/other/configmaps",
        JSON,
        &cm("d", &json!({"app": "x"})),
    )
    .await;
    // as a real server encodes them: a built-in type's list items carry no apiVersion or kind
    let all = api.get(CMS).await;
    assert_eq!(all.body["kind"], "ConfigMapList");
    let first = &all.body["items"][0];
    assert!(
        first.get("apiVersion").is_none() && first.get("kind").is_none(),
        "{first}"
    );
    let names = |list: &Value| -> Vec<String> {
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| {
                i["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };
    let cases = [
        ("labelSelector=app%3Dx", vec!["a"]),
        ("labelSelector=app!%3Dx", vec!["b", "c"]),
        ("labelSelector=app+in+(x,y)", vec!["a", "b"]),
        ("labelSelector=app+notin+(x)", vec!["b", "c"]),
        ("labelSelector=tier", vec!["a"]),
        ("labelSelector=!app", vec!["c"]),
        ("fieldSelector=metadata.name%3Db", vec!["b"]),
        ("fieldSelector=metadata.name!%3Db", vec!["a", "c"]),
    ];
    for (query, expected) in cases {
        let list = api.get(&format!("{CMS}?{query}")).await;
        assert_eq!(list.code, 200, "{query}");
        assert_eq!(names(&list.body), expected, "{query}");
        assert_eq!(list.body["kind"], "ConfigMapList");
    }
    let all = api.get("/api/v1/configmaps?labelSelector=app%3Dx").await;
    assert_eq!(
        names(&all.body),
        ["a", "d"],
        "cluster-wide list spans namespaces"
    );
    let by_ns = api
        .get("/api/v1/configmaps?fieldSelector=metadata.namespace%3Dother")
        .await;
    assert_eq!(names(&by_ns.body), ["d"]);
    let rv: u64 = all.body["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("list rv");
    assert!(rv >= 5);
    assert_eq!(
        api.get(&format!("{CMS}?labelSelector=a+in+(b")).await.code,
        400
    );
}

#[tokio::test]
async fn merge_json_and_strategic_patches() {
    let api = Api::new().await;
    let path = "/apis/apps/v1/namespaces/default/deployments/web";
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1"}, {"name": "side", "image": "busybox"}]}}}});
    api.call(
        "POST",
        "/apis/apps/v1/namespaces/default/deployments",
        JSON,
        &deploy.to_string(),
    )
    .await;
    let smp = json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}});
    let patched = api.call("PATCH", path, STRATEGIC, &smp.to_string()).await;
    let containers = &patched.body["spec"]["template"]["spec"]["containers"];
    assert_eq!(
        containers,
        &json!([{"name": "web", "image": "nginx:2"}, {"name": "side", "image": "busybox"}])
    );
    assert_eq!(patched.body["metadata"]["generation"], 2);

    let merged = api.call("PATCH", path, MERGE, &smp.to_string()).await;
    assert_eq!(
        merged.body["spec"]["template"]["spec"]["containers"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "merge patch replaces lists"
    );
    let ops = json!([{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:3"}]);
    let jp = api.call("PATCH", path, JSON_PATCH, &ops.to_string()).await;
    assert_eq!(
        jp.body["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:3"
    );
    let bad = api
        .call(
            "PATCH",
            path,
            JSON_PATCH,
            r#"[{"op":"remove","path":"/nope"}]"#,
        )
        .await;
    assert_eq!(bad.code, 422);
}

#[tokio::test]
async fn background_gc_orphan_and_finalizers() {
    let api = Api::new().await;
    let owner = api.call("POST", CMS, JSON, &cm("owner", &json!({}))).await;
    let uid = owner.body["metadata"]["uid"]
        .as_str()
        .expect("uid")
        .to_owned();
    for name in ["dep1", "dep2"] {
        let body = json!({"metadata": {"name": name, "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid}]}});
        api.call("POST", CMS, JSON, &body.to_string()).await;
    }
    let orphan = api
        .call(
            "DELETE",
            &format!("{CMS}/owner?propagationPolicy=Orphan"),
            JSON,
            "",
        )
        .await;
    assert_eq!(orphan.code, 200);
    let dep = api.get(&format!("{CMS}/dep1")).await;
    assert_eq!(dep.code, 200);
    assert!(dep.body["metadata"].get("ownerReferences").is_none());

    let owner = api.call("POST", CMS, JSON, &cm("owner2", &json!({}))).await;
    let uid = owner.body["metadata"]["uid"]
        .as_str()
        .expect("uid")
        .to_owned();
    let body = json!({"metadata": {"name": "dep3", "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner2", "uid": uid}]}});
    api.call("POST", CMS, JSON, &body.to_string()).await;
    let options =
        json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"});
    api.call(
        "DELETE",
        &format!("{CMS}/owner2"),
        JSON,
        &options.to_string(),
    )
    .await;
    assert_eq!(
        api.get(&format!("{CMS}/dep3")).await.code,
        404,
        "background deletion collects dependents"
    );

    let held = json!({"metadata": {"name": "held", "finalizers": ["example.com/hold"]}});
    api.call("POST", CMS, JSON, &held.to_string()).await;
    let marked = api.call("DELETE", &format!("{CMS}/held"), JSON, "").await;
    assert!(marked.body["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(api.get(&format!("{CMS}/held")).await.code, 200);
    let released = api
        .call(
            "PATCH",
            &format!("{CMS}/held"),
            MERGE,
            r#"{"metadata":{"finalizers":null}}"#,
        )
        .await;
    assert_eq!(released.code, 200);
    assert_eq!(
        api.get(&format!("{CMS}/held")).await.code,
        404,
        "removing the last finalizer deletes"
    );
}

#[tokio::test]
async fn namespace_deletion_removes_its_objects() {
    let api = Api::new().await;
    api.call(
        "POST",
        "/api/v1/namespaces",
        JSON,
        r#"{"metadata":{"name":"team"}}"#,
    )
    .await;
    api.call(
        "POST",
        "/api/v1/namespaces/team/configmaps",
        JSON,
        &cm("x", &json!({})),
    )
    .await;
    assert_eq!(
        api.call("DELETE", "/api/v1/namespaces/team", JSON, "")
            .await
            .code,
        200
    );
    assert_eq!(
        api.get("/api/v1/namespaces/team/configmaps/x").await.code,
        404
    );
    assert_eq!(api.get("/api/v1/namespaces/team").await.code, 404);
}

#[tokio::test]
async fn watch_streams_changes() {
    let api = Api::new().await;
    let created = api.call("POST", CMS, JSON, &cm("before", &json!({}))).await;
    let from = rv(&created.body);
    let watch = tokio::spawn({
        let url = format!(
            "{}{CMS}?watch=true&resourceVersion={}&timeoutSeconds=2",
            api.server.url(),
            from - 1
        );
        async move {
            let client =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http::<http_body_util::Empty<bytes::Bytes>>();
            let resp = client
                .get(url.parse().expect("uri"))
                .await
                .expect("watch answered");
            let body = http_body_util::BodyExt::collect(resp.into_body())
                .await
                .expect("stream ends at timeout");
            String::from_utf8_lossy(&body.to_bytes()).into_owned()
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    api.call("POST", CMS, JSON, &cm("after", &json!({}))).await;
    api.call("DELETE", &format!("{CMS}/before"), JSON, "").await;
    let text = watch.await.expect("watch task");
    let events: Vec<(String, String)> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("one JSON event per line"))
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default().to_owned(),
                e["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    let expected = [
        ("ADDED", "before"),
        ("ADDED", "after"),
        ("DELETED", "before"),
    ];
    assert_eq!(events, expected.map(|(a, b)| (a.to_owned(), b.to_owned())));
}

#[tokio::test]
async fn crd_types_appear_once_established() {
    let api = Api::start(Options {
        crd_established_delay: Duration::from_millis(500),
        ..Options::default()
    })
    .await;
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"},
        "spec": {"group": "example.com", "scope": "Cluster", "names": {"plural": "gadgets", "kind": "Gadget", "shortNames": ["gd"]},
                 "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object"}}}]}});
    let created = api
        .call(
            "POST",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            JSON,
            &crd.to_string(),
        )
        .await;
    assert_eq!(created.code, 201);
    assert_eq!(created.body["status"]["conditions"][1]["status"], "False");
    assert_eq!(api.get("/apis/example.com/v1").await.code, 404);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let list = loop {
        let answer = api.get("/apis/example.com/v1").await;
        if answer.code == 200 || std::time::Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(list.code, 200);
    assert_eq!(list.body["resources"][0]["name"], "gadgets");
    assert_eq!(list.body["resources"][0]["namespaced"], false);
    assert_eq!(list.body["resources"][0]["shortNames"], json!(["gd"]));
    let groups = api.get("/apis").await;
    assert!(
        groups.body["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .any(|g| g["name"] == "example.com")
    );
    let gadget = json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}, "spec": {"n": 1}});
    assert_eq!(
        api.call(
            "POST",
            "/apis/example.com/v1/gadgets",
            JSON,
            &gadget.to_string()
        )
        .await
        .code,
        201
    );
    // a custom resource list keeps them
    let gadgets = api.get("/apis/example.com/v1/gadgets").await;
    assert_eq!(gadgets.body["items"][0]["kind"], "Gadget");
    assert_eq!(gadgets.body["items"][0]["apiVersion"], "example.com/v1");
    let smp = api
        .call(
            "PATCH",
            "/apis/example.com/v1/gadgets/g",
            STRATEGIC,
            r#"{"spec":{"n":2}}"#,
        )
        .await;
    assert_eq!(
        smp.code, 415,
        "custom resources take no strategic merge patch"
    );
    let bad = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "wrong"},
        "spec": {"group": "example.com", "names": {"plural": "things", "kind": "Thing"}, "versions": [{"name": "v1", "served": true, "storage": true}]}});
    let invalid = api
        .call(
            "POST",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            JSON,
            &bad.to_string(),
        )
        .await;
    assert_eq!(invalid.code, 422);
}

#[tokio::test]
async fn discovery_documents() {
    let api = Api::new().await;
    let v1 = api.get("/api/v1").await;
    let find = |list: &Value, name: &str| {
        list["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
    };
    let ns = find(&v1.body, "namespaces").expect("namespaces listed");
    assert_eq!(ns["namespaced"], false);
    assert_eq!(
        find(&v1.body, "configmaps").expect("configmaps")["shortNames"],
        json!(["cm"])
    );
    let apps = api.get("/apis/apps/v1").await;
    assert_eq!(
        find(&apps.body, "deployments").expect("deployments")["kind"],
        "Deployment"
    );
    assert!(find(&apps.body, "deployments/status").is_some());
    let version = api.get("/version").await;
    assert_eq!(version.body["major"], "1");
    assert_eq!(api.get("/apis/nothing.example.com/v1").await.code, 404);
}

#[tokio::test]
async fn watch_with_a_selector_reports_objects_entering_and_leaving_it() {
    let api = Api::new().await;
    let listed = api.get(CMS).await;
    let from = listed.body["metadata"]["resourceVersion"]
        .as_str()
        .expect("list rv")
        .to_owned();
    let url = format!(
        "{}{CMS}?watch=1&labelSelector=app%3Dx&timeoutSeconds=2&resourceVersion={from}",
        api.server.url()
    );
    let watch = tokio::spawn(async move {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<http_body_util::Empty<bytes::Bytes>>();
        let resp = client
            .get(url.parse().expect("uri"))
            .await
            .expect("watch answered");
        let body = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .expect("stream ends at timeout");
        String::from_utf8_lossy(&body.to_bytes()).into_owned()
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    api.call("POST", CMS, JSON, &cm("a", &json!({"app": "x"})))
        .await;
    api.call("POST", CMS, JSON, &cm("b", &json!({"app": "y"})))
        .await;
    api.call(
        "PATCH",
        &format!("{CMS}/a"),
        MERGE,
        r#"{"metadata":{"labels":{"app":"z"}}}"#,
    )
    .await;
    api.call(
        "PATCH",
        &format!("{CMS}/b"),
        MERGE,
        r#"{"metadata":{"labels":{"app":"x"}}}"#,
    )
    .await;
    api.call("PATCH", &format!("{CMS}/b"), MERGE, r#"{"data":{"k":"w"}}"#)
        .await;
    let text = watch.await.expect("watch task");
    let events: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("one JSON event per line"))
        .map(|e| {
            format!(
                "{} {}",
                e["type"].as_str().unwrap_or_default(),
                e["object"]["metadata"]["name"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(events, ["ADDED a", "DELETED a", "ADDED b", "MODIFIED b"]);
}

#[tokio::test]
async fn aggregated_discovery_when_asked_for() {
    let api = Api::new().await;
    let accept =
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
    let answer = api.call_accepting("GET", "/apis", accept).await;
    assert_eq!(
        answer
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    );
    assert_eq!(answer.body["kind"], "APIGroupDiscoveryList");
    let apps = answer.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|g| g["metadata"]["name"] == "apps")
        .cloned()
        .expect("apps group");
    let deploy = apps["versions"][0]["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["resource"] == "deployments")
        .cloned()
        .expect("deployments");
    assert_eq!(deploy["scope"], "Namespaced");
    assert_eq!(
        deploy["responseKind"],
        json!({"group": "apps", "version": "v1", "kind": "Deployment"})
    );
    let subresources: Vec<&str> = deploy["subresources"]
        .as_array()
        .expect("subresources")
        .iter()
        .filter_map(|s| s["subresource"].as_str())
        .collect();
    assert_eq!(subresources, ["scale", "status"]);
    let core = api.call_accepting("GET", "/api", accept).await;
    assert_eq!(core.body["items"][0]["versions"][0]["version"], "v1");
    let legacy = api.get("/apis").await;
    assert_eq!(
        legacy.body["kind"], "APIGroupList",
        "plain JSON clients get legacy discovery"
    );
}

#[tokio::test]
async fn lists_page_with_limit_and_continue() {
    let api = Api::new().await;
    for name in ["a", "b", "c", "d", "e"] {
        api.call("POST", CMS, JSON, &cm(name, &json!({}))).await;
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = api.get(&format!("{CMS}?limit=2&continue={token}")).await;
        assert_eq!(page.code, 200);
        let items = page.body["items"].as_array().expect("items");
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|i| {
            i["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }));
        match page.body["metadata"]["continue"].as_str() {
            Some(next) => token = next.replace('/', "%2F"),
            None => break,
        }
    }
    assert_eq!(seen, ["a", "b", "c", "d", "e"]);
    let first = api.get(&format!("{CMS}?limit=2")).await;
    assert_eq!(first.body["metadata"]["remainingItemCount"], 3);
    assert_eq!(api.get(&format!("{CMS}?continue=bogus")).await.code, 400);
}

#[tokio::test]
async fn names_and_labels_are_validated_like_the_real_server() {
    let api = Api::new().await;
    let bad_name = api
        .call("POST", CMS, JSON, r#"{"metadata":{"name":"Bad_Name"}}"#)
        .await;
    assert_eq!(bad_name.code, 422);
    let message = bad_name.body["message"].as_str().expect("message");
    assert!(message.starts_with("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"), "{message}");
    let dotted_ns = api
        .call(
            "POST",
            "/api/v1/namespaces",
            JSON,
            r#"{"metadata":{"name":"a.b"}}"#,
        )
        .await;
    assert_eq!(dotted_ns.code, 422, "namespace names are RFC 1123 labels");
    let bad_value = api
        .call(
            "POST",
            CMS,
            JSON,
            r#"{"metadata":{"name":"ok","labels":{"app":"has space"}}}"#,
        )
        .await;
    assert_eq!(bad_value.code, 422);
    assert_eq!(
        bad_value.body["details"]["causes"][0]["field"],
        "metadata.labels[\"app\"]"
    );
    let bool_value = api
        .call(
            "POST",
            CMS,
            JSON,
            r#"{"metadata":{"name":"ok","labels":{"on":true}}}"#,
        )
        .await;
    assert_eq!(bool_value.code, 400);
    let bad_key = api
        .call(
            "POST",
            CMS,
            JSON,
            r#"{"metadata":{"name":"ok","annotations":{"Bad_Prefix/x":"1"}}}"#,
        )
        .await;
    assert_eq!(bad_key.code, 422);
    let fine = api.call("POST", CMS, JSON, r#"{"metadata":{"name":"ok.v1","labels":{"app.kubernetes.io/name":"My_App-1","empty":""}}}"#).await;
    assert_eq!(fine.code, 201);
    let relabel = api
        .call(
            "PATCH",
            &format!("{CMS}/ok.v1"),
            MERGE,
            r#"{"metadata":{"labels":{"x":"-bad"}}}"#,
        )
        .await;
    assert_eq!(relabel.code, 422, "updates are validated too");
    let rbac = api
        .call(
            "POST",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            JSON,
            r#"{"metadata":{"name":"system:aggregate-to-edit"}}"#,
        )
        .await;
    assert_eq!(rbac.code, 201, "RBAC names are path segments");
}

#[tokio::test]
async fn malformed_objects_are_bad_requests() {
    let api = Api::new().await;
    for body in [
        "[1,2]",
        r#"{"metadata":"x"}"#,
        r#"{"metadata":{"name":"a"},"spec":3}"#,
        "not json: [",
        r#"{"metadata":{"name":"a","labels":"x"}}"#,
        r#"{"metadata":{"name":"a","finalizers":"x"}}"#,
        "",
    ] {
        let answer = api.call("POST", CMS, JSON, body).await;
        assert_eq!(answer.code, 400, "{body}");
        assert_eq!(answer.body["kind"], "Status", "{body}");
    }
    api.call("POST", CMS, JSON, &cm("a", &json!({}))).await;
    let broken = api
        .call(
            "PATCH",
            &format!("{CMS}/a"),
            JSON_PATCH,
            r#"[{"op":"replace","path":"/metadata","value":7}]"#,
        )
        .await;
    assert_eq!(broken.code, 400);
    assert_eq!(
        api.get(&format!("{CMS}/a")).await.code,
        200,
        "the server keeps serving"
    );
}
