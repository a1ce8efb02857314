//! Server-side apply, dry run and the status subresource over HTTP.

mod common;

use common::{Api, JSON, MERGE, managers, rv};
use serde_json::json;

const CM: &str = "/api/v1/namespaces/default/configmaps/demo";
const DEPLOY: &str = "/apis/apps/v1/namespaces/default/deployments/web";

fn deployment(image: &str, replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: {image}
"
    )
}

#[tokio::test]
async fn apply_creates_then_reapply_is_a_no_op_and_dropped_fields_go() {
    let api = Api::new().await;
    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n  labels: {a: '1', b: '2'}\ndata:\n  x: '1'\n  y: '2'\n";
    let created = api.apply(CM, "kiln", body, false).await;
    assert_eq!(created.code, 201);
    assert_eq!(managers(&created.body), ["kiln/Apply"]);
    assert_eq!(
        created.body["metadata"]["managedFields"][0]["fieldsV1"]["f:data"],
        json!({"f:x": {}, "f:y": {}})
    );

    let writes = api.server.store_writes();
    let again = api.apply(CM, "kiln", body, false).await;
    assert_eq!(again.code, 200);
    assert_eq!(
        rv(&again.body),
        rv(&created.body),
        "a no-op apply keeps the resource version"
    );
    assert_eq!(api.server.store_writes(), writes);
    assert_eq!(api.server.requests().count("apply"), 2);
    let managers: Vec<Option<String>> = api
        .server
        .requests()
        .entries()
        .iter()
        .map(|e| e.param("fieldManager"))
        .collect();
    assert_eq!(managers, [Some("kiln".to_owned()), Some("kiln".to_owned())]);

    let smaller = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n  labels: {a: '1'}\ndata:\n  x: '1'\n";
    let pruned = api.apply(CM, "kiln", smaller, false).await;
    assert_eq!(pruned.body["data"], json!({"x": "1"}));
    assert_eq!(pruned.body["metadata"]["labels"], json!({"a": "1"}));
    assert!(rv(&pruned.body) > rv(&created.body));
}

#[tokio::test]
async fn conflicts_are_409_status_objects_naming_managers_and_fields() {
    let api = Api::new().await;
    assert_eq!(
        api.apply(DEPLOY, "alpha", &deployment("nginx:1", 1), false)
            .await
            .code,
        201
    );
    let clash = api
        .apply(DEPLOY, "beta", &deployment("nginx:2", 3), false)
        .await;
    assert_eq!(clash.code, 409);
    assert_eq!(clash.body["kind"], "Status");
    assert_eq!(clash.body["reason"], "Conflict");
    assert_eq!(
        clash.body["message"],
        "Apply failed with 2 conflicts: conflicts with \"alpha\":\n- .spec.replicas\n- .spec.template.spec.containers[name=\"web\"].image"
    );
    let causes = clash.body["details"]["causes"].as_array().expect("causes");
    assert_eq!(
        causes[0],
        json!({"reason": "FieldManagerConflict", "message": "conflict with \"alpha\"", "field": ".spec.replicas"})
    );

    // Same values: shared ownership, no conflict.
    assert_eq!(
        api.apply(DEPLOY, "beta", &deployment("nginx:1", 1), false)
            .await
            .code,
        200
    );
    let forced = api
        .apply(DEPLOY, "beta", &deployment("nginx:2", 3), true)
        .await;
    assert_eq!(forced.code, 200);
    assert_eq!(forced.body["spec"]["replicas"], 3);
    assert_eq!(forced.body["metadata"]["generation"], 2);
    assert_eq!(managers(&forced.body), ["alpha/Apply", "beta/Apply"]);
    let alpha = &forced.body["metadata"]["managedFields"][0]["fieldsV1"];
    assert!(
        alpha["f:spec"].get("f:replicas").is_none(),
        "alpha lost the forced field: {alpha}"
    );
    assert!(
        alpha["f:spec"].get("f:selector").is_some(),
        "alpha keeps the shared field: {alpha}"
    );
}

#[tokio::test]
async fn updates_take_fields_from_appliers() {
    let api = Api::new().await;
    api.apply(DEPLOY, "kiln", &deployment("nginx:1", 1), false)
        .await;
    let scaled = api
        .call(
            "PATCH",
            &format!("{DEPLOY}?fieldManager=hpa"),
            MERGE,
            r#"{"spec":{"replicas":5}}"#,
        )
        .await;
    assert_eq!(scaled.code, 200);
    assert_eq!(managers(&scaled.body), ["kiln/Apply", "hpa/Update"]);
    let clash = api
        .apply(DEPLOY, "kiln", &deployment("nginx:1", 1), false)
        .await;
    assert_eq!(clash.code, 409);
    assert_eq!(
        clash.body["message"],
        "Apply failed with 1 conflict: conflict with \"hpa\" using apps/v1: .spec.replicas"
    );
    // Dropping the field from the applied config leaves the other manager's value alone.
    let without = deployment("nginx:1", 1).replace("  replicas: 1\n", "");
    let kept = api.apply(DEPLOY, "kiln", &without, false).await;
    assert_eq!(kept.code, 200);
    assert_eq!(kept.body["spec"]["replicas"], 5);
}

#[tokio::test]
async fn apply_needs_a_field_manager_and_an_existing_namespace() {
    let api = Api::new().await;
    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n";
    let no_manager = api.call("PATCH", CM, common::APPLY, body).await;
    assert_eq!(no_manager.code, 422);
    assert!(
        no_manager.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("fieldManager: Required value"))
    );
    let missing = api
        .apply(
            "/api/v1/namespaces/nope/configmaps/demo",
            "kiln",
            body,
            false,
        )
        .await;
    assert_eq!(missing.code, 404);
    assert_eq!(missing.body["message"], "namespaces \"nope\" not found");
    let mismatch = api
        .apply(
            "/api/v1/namespaces/default/configmaps/other",
            "kiln",
            body,
            false,
        )
        .await;
    assert_eq!(mismatch.code, 400);
}

#[tokio::test]
async fn dry_run_never_stores() {
    let api = Api::new().await;
    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\ndata: {x: '1'}\n";
    let dry = api
        .apply(&format!("{CM}?dryRun=All"), "kiln", body, false)
        .await;
    assert_eq!(dry.code, 201);
    assert_eq!(dry.body["data"]["x"], "1");
    assert_eq!(api.get(CM).await.code, 404);
    let created = api
        .call(
            "POST",
            "/api/v1/namespaces/default/configmaps?dryRun=All",
            JSON,
            &json!({"metadata": {"name": "demo"}}).to_string(),
        )
        .await;
    assert_eq!(created.code, 201);
    assert_eq!(api.get(CM).await.code, 404);

    api.apply(CM, "kiln", body, false).await;
    let before = api.server.store_writes();
    let patched = api
        .call(
            "PATCH",
            &format!("{CM}?dryRun=All"),
            MERGE,
            r#"{"data":{"x":"2"}}"#,
        )
        .await;
    assert_eq!(patched.body["data"]["x"], "2");
    let deleted = api
        .call("DELETE", &format!("{CM}?dryRun=All"), JSON, "")
        .await;
    assert_eq!(deleted.code, 200);
    assert_eq!(api.get(CM).await.body["data"]["x"], "1");
    assert_eq!(api.server.store_writes(), before);
    assert_eq!(
        api.server.requests().writes(),
        1,
        "only the real apply counts as a write"
    );
}

#[tokio::test]
async fn status_is_a_subresource() {
    let api = Api::new().await;
    let mut with_status = deployment("nginx:1", 2);
    with_status.push_str("status:\n  readyReplicas: 99\n");
    let created = api.apply(DEPLOY, "kiln", &with_status, false).await;
    assert!(
        created.body.get("status").is_none(),
        "main writes ignore status: {}",
        created.body
    );

    let status = json!({"status": {"readyReplicas": 2, "observedGeneration": 1}}).to_string();
    let marked = api
        .call("PATCH", &format!("{DEPLOY}/status"), MERGE, &status)
        .await;
    assert_eq!(marked.code, 200);
    assert_eq!(marked.body["status"]["readyReplicas"], 2);
    assert_eq!(
        marked.body["metadata"]["generation"], 1,
        "status writes keep the generation"
    );
    let entry = marked.body["metadata"]["managedFields"]
        .as_array()
        .and_then(|l| l.last())
        .cloned()
        .expect("entry");
    assert_eq!(entry["subresource"], "status");

    let ignored = api
        .call(
            "PATCH",
            DEPLOY,
            MERGE,
            r#"{"status":{"readyReplicas":0},"metadata":{"labels":{"x":"y"}}}"#,
        )
        .await;
    assert_eq!(
        ignored.body["status"]["readyReplicas"], 2,
        "main patches do not change status"
    );
    assert_eq!(ignored.body["metadata"]["labels"]["x"], "y");
    assert_eq!(
        ignored.body["metadata"]["generation"], 1,
        "metadata changes keep the generation"
    );

    let status_only = api
        .call(
            "PATCH",
            &format!("{DEPLOY}/status"),
            MERGE,
            r#"{"spec":{"replicas":7}}"#,
        )
        .await;
    assert_eq!(
        status_only.body["spec"]["replicas"], 2,
        "status writes do not change spec"
    );
    let cm_status = api
        .get("/api/v1/namespaces/default/configmaps/x/status")
        .await;
    assert_eq!(cm_status.code, 404, "configmaps have no status subresource");
}

#[tokio::test]
async fn custom_resources_follow_their_crd_list_markers() {
    let api = Api::new().await;
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "routes.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "routes", "kind": "Route"},
        "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
            "type": "object",
            "properties": {"spec": {"type": "object", "properties": {
                "backends": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                             "items": {"type": "object", "properties": {"name": {"type": "string"}, "weight": {"type": "integer"}}}},
                "hosts": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                "args": {"type": "array", "items": {"type": "string"}}
            }}}}}}]}});
    let created = api
        .call(
            "POST",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            JSON,
            &crd.to_string(),
        )
        .await;
    assert_eq!(created.code, 201);
    let path = "/apis/example.com/v1/namespaces/default/routes/r";
    let route = |backend: &str, host: &str, arg: &str| {
        json!({"apiVersion": "example.com/v1", "kind": "Route", "metadata": {"name": "r"},
               "spec": {"backends": [{"name": backend, "weight": 1}], "hosts": [host], "args": [arg]}})
        .to_string()
    };
    assert_eq!(
        api.apply(path, "a", &route("blue", "a.example", "x"), false)
            .await
            .code,
        201
    );
    let clash = api
        .apply(path, "b", &route("green", "b.example", "y"), false)
        .await;
    assert_eq!(clash.code, 409, "atomic lists conflict: {}", clash.body);
    assert_eq!(
        clash.body["message"],
        "Apply failed with 1 conflict: conflict with \"a\": .spec.args"
    );
    let both = api
        .apply(path, "b", &route("green", "b.example", "x"), false)
        .await;
    assert_eq!(both.code, 200);
    assert_eq!(
        both.body["spec"]["backends"],
        json!([{"name": "blue", "weight": 1}, {"name": "green", "weight": 1}])
    );
    assert_eq!(
        both.body["spec"]["hosts"],
        json!(["a.example", "b.example"])
    );
    let fields = &both.body["metadata"]["managedFields"][1]["fieldsV1"]["f:spec"];
    assert!(
        fields["f:backends"]["k:{\"name\":\"green\"}"].is_object(),
        "{fields}"
    );
    assert!(fields["f:hosts"]["v:\"b.example\""].is_object(), "{fields}");

    let only_blue = json!({"apiVersion": "example.com/v1", "kind": "Route", "metadata": {"name": "r"}, "spec": {}}).to_string();
    let after = api.apply(path, "b", &only_blue, false).await;
    assert_eq!(
        after.body["spec"]["backends"],
        json!([{"name": "blue", "weight": 1}]),
        "b's item goes, a's stays"
    );
    assert_eq!(after.body["spec"]["hosts"], json!(["a.example"]));
    assert_eq!(
        after.body["spec"]["args"],
        json!(["x"]),
        "a still owns the shared atomic list"
    );
}

#[tokio::test]
async fn secret_string_data_is_folded_into_data() {
    let api = Api::new().await;
    let path = "/api/v1/namespaces/default/secrets/s";
    let body = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  user: admin\ndata:\n  other: eA==\n";
    let created = api.apply(path, "kiln", body, false).await;
    assert_eq!(created.code, 201);
    assert_eq!(
        created.body["data"],
        json!({"other": "eA==", "user": "YWRtaW4="})
    );
    assert!(created.body.get("stringData").is_none());
    let again = api.apply(path, "kiln", body, false).await;
    assert_eq!(
        rv(&again.body),
        rv(&created.body),
        "re-applying stringData is a no-op"
    );
}

#[tokio::test]
async fn first_apply_to_an_unmanaged_object_conflicts_with_before_first_apply() {
    let api = Api::new().await;
    let created = api
        .call(
            "POST",
            "/api/v1/namespaces/default/configmaps",
            JSON,
            r#"{"metadata":{"name":"demo"},"data":{"x":"1"}}"#,
        )
        .await;
    assert_eq!(created.code, 201);
    let cleared = api
        .call("PATCH", CM, MERGE, r#"{"metadata":{"managedFields":[]}}"#)
        .await;
    assert!(
        cleared.body["metadata"].get("managedFields").is_none(),
        "an empty list clears managed fields"
    );
    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\ndata:\n  x: '2'\n";
    let clash = api.apply(CM, "kiln", body, false).await;
    assert_eq!(clash.code, 409);
    assert_eq!(
        clash.body["message"],
        "Apply failed with 1 conflict: conflict with \"before-first-apply\" using v1: .data.x"
    );
}

#[tokio::test]
async fn scale_subresource_changes_replicas_and_owns_them() {
    let api = Api::new().await;
    api.apply(DEPLOY, "kiln", &deployment("nginx:1", 2), false)
        .await;
    let scale = api.get(&format!("{DEPLOY}/scale")).await;
    assert_eq!(scale.code, 200);
    assert_eq!(scale.body["kind"], "Scale");
    assert_eq!(scale.body["spec"]["replicas"], 2);
    assert_eq!(scale.body["status"]["selector"], "app=web");
    let scaled = api
        .call(
            "PATCH",
            &format!("{DEPLOY}/scale?fieldManager=hpa"),
            MERGE,
            r#"{"spec":{"replicas":5}}"#,
        )
        .await;
    assert_eq!(scaled.code, 200);
    assert_eq!(scaled.body["spec"]["replicas"], 5);
    let deploy = api.get(DEPLOY).await;
    assert_eq!(deploy.body["spec"]["replicas"], 5);
    assert_eq!(deploy.body["metadata"]["generation"], 2);
    let clash = api
        .apply(DEPLOY, "kiln", &deployment("nginx:1", 2), false)
        .await;
    assert_eq!(clash.code, 409);
    assert_eq!(
        clash.body["message"],
        "Apply failed with 1 conflict: conflict with \"hpa\" with subresource \"scale\" using apps/v1: .spec.replicas"
    );
    assert_eq!(
        api.get("/api/v1/namespaces/default/configmaps/x/scale")
            .await
            .code,
        404
    );
}
