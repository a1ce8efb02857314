use serde_json::json;

use super::*;

fn writer(manager: &str) -> Writer<'_> {
    Writer {
        schema: Schema {
            builtin: true,
            kind: "Deployment",
            crd: None,
        },
        api_version: "apps/v1",
        manager,
        subresource: None,
        status_subresource: true,
        now: "2026-01-01T00:00:00Z",
    }
}

fn deployment(image: &str, replicas: u32) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"spec": {"containers": [{"name": "web", "image": image}]}}
        }
    })
}

#[test]
fn field_set_uses_keys_members_and_atomic_selectors() {
    let fields = writer("a")
        .field_set(&deployment("nginx", 1), false)
        .to_fields_v1();
    assert_eq!(
        fields,
        json!({
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {},
                "f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}
                }}}
            }
        })
    );
    let back = FieldSet::from_fields_v1(&fields);
    assert_eq!(back, writer("a").field_set(&deployment("nginx", 1), false));
    let with_maps = writer("a")
        .field_set(&deployment("nginx", 1), true)
        .to_fields_v1();
    assert_eq!(
        with_maps["f:metadata"],
        json!({"f:labels": {".": {}, "f:app": {}}})
    );
}

#[test]
fn apply_conflicts_only_where_values_differ_and_force_takes_over() {
    let first = apply(&writer("a"), &Value::Null, &deployment("nginx", 1), false).expect("create");
    let same =
        apply(&writer("b"), &first, &deployment("nginx", 1), false).expect("same values share");
    assert_eq!(entries(&same).len(), 2);
    let err = apply(&writer("b"), &first, &deployment("nginx", 3), false).expect_err("conflict");
    assert_eq!(
        err,
        vec![Conflict {
            manager: "\"a\"".into(),
            path: ".spec.replicas".into()
        }]
    );
    let forced = apply(&writer("b"), &first, &deployment("nginx", 3), true).expect("force");
    assert_eq!(forced["spec"]["replicas"], 3);
    let a = entries(&forced)
        .into_iter()
        .find(|e| e.manager == "a")
        .expect("a stays");
    assert!(
        !a.fields
            .contains(&vec!["f:spec".into(), "f:replicas".into()])
    );
}

#[test]
fn fields_no_longer_applied_are_removed_unless_others_own_them() {
    let mut cfg = deployment("nginx", 1);
    cfg["metadata"]["labels"]["tier"] = json!("front");
    cfg["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .expect("containers")
        .push(json!({"name": "sidecar", "image": "busybox"}));
    let live = apply(&writer("a"), &Value::Null, &cfg, false).expect("create");
    let again = apply(&writer("a"), &live, &deployment("nginx", 1), false).expect("reapply");
    assert_eq!(again["metadata"]["labels"], json!({"app": "web"}));
    assert_eq!(
        again["spec"]["template"]["spec"]["containers"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    let shared = apply(
        &writer("b"),
        &live,
        &json!({"metadata": {"labels": {"tier": "front"}}}),
        false,
    )
    .expect("b shares the label");
    let kept = apply(&writer("a"), &shared, &deployment("nginx", 1), false).expect("reapply");
    assert_eq!(kept["metadata"]["labels"]["tier"], "front");
}

#[test]
fn updates_move_changed_fields_to_the_updater() {
    let live = apply(&writer("a"), &Value::Null, &deployment("nginx", 1), false).expect("create");
    let mut new = live.clone();
    new["spec"]["replicas"] = json!(5);
    track_update(&writer("kubectl-edit"), Some(&live), &mut new);
    let list = entries(&new);
    let edit = list
        .iter()
        .find(|e| e.manager == "kubectl-edit")
        .expect("editor entry");
    assert_eq!(edit.operation, "Update");
    assert_eq!(
        edit.fields.to_fields_v1(),
        json!({"f:spec": {"f:replicas": {}}})
    );
    let err = apply(&writer("a"), &new, &deployment("nginx", 1), false).expect_err("conflict");
    assert_eq!(err[0].manager, "\"kubectl-edit\" using apps/v1");
}

#[test]
fn removing_the_last_keyed_item_drops_the_emptied_list() {
    let mut with_env = deployment("nginx", 1);
    with_env["spec"]["template"]["spec"]["containers"][0]["env"] =
        json!([{"name": "A", "value": "1"}]);
    let live = apply(&writer("a"), &Value::Null, &with_env, false).expect("create");
    let again = apply(&writer("a"), &live, &deployment("nginx", 1), false).expect("reapply");
    let container = &again["spec"]["template"]["spec"]["containers"][0];
    assert!(container.get("env").is_none(), "{container}");
    assert_eq!(container["image"], "nginx");
}

#[test]
fn ports_without_protocol_are_the_tcp_ports() {
    let mut first = deployment("nginx", 1);
    first["spec"]["template"]["spec"]["containers"][0]["ports"] = json!([{"containerPort": 80}]);
    let live = apply(&writer("a"), &Value::Null, &first, false).expect("create");
    let set = entries(&live)[0].fields.to_fields_v1();
    let container = &set["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"];
    assert!(
        container["f:ports"]["k:{\"containerPort\":80,\"protocol\":\"TCP\"}"].is_object(),
        "{container}"
    );

    let mut second = deployment("nginx", 1);
    second["spec"]["template"]["spec"]["containers"][0]["ports"] =
        json!([{"containerPort": 80, "protocol": "TCP", "name": "http"}]);
    let merged = apply(&writer("b"), &live, &second, false).expect("no conflict");
    let ports = &merged["spec"]["template"]["spec"]["containers"][0]["ports"];
    assert_eq!(
        ports,
        &json!([{"containerPort": 80, "protocol": "TCP", "name": "http"}])
    );
}
