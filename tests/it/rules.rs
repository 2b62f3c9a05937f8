//! Response rules and forward targets (issue 20): what a sender is
//! answered, by what its request says; where each capture is forwarded,
//! filtered and transformed. In the split shape with two ingests, so that
//! sequences are counted across processes and changes reach every ingest.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::both_shapes;
use crate::support::{spawn_app_with, App, Flags, Shape};

async fn two_ingests(shape: Shape) -> App {
    spawn_app_with(
        shape,
        Flags {
            ingests: 2,
            ..Flags::default()
        },
    )
    .await
}

async fn put_routing(app: &App, path: &str, doc: Value) -> reqwest::Response {
    app.client
        .put(format!("{}/api/paths/{path}/routing", app.api))
        .json(&doc)
        .send()
        .await
        .unwrap()
}

/// A path created with these rules and targets, known to every ingest
/// (a path reaches ingest together with its rules, so once it is accepted
/// its rules answer; the probe is refused before any rule counts it).
async fn path_with(app: &App, doc: Value) -> String {
    let r = app.create_path(doc).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let path = r.json::<Value>().await.unwrap()["path_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.wait_accepts_everywhere(&path).await;
    path
}

/// The recorded answer of each capture, oldest first.
async fn answers(app: &App, path: &str, n: usize) -> Vec<Value> {
    let mut ids = app.wait_count(path, n).await;
    ids.sort();
    let mut out = Vec::new();
    for id in ids {
        out.push(app.detail(path, &id).await["response"].clone());
    }
    out
}

async fn first_three_fail_then_succeed_across_both_ingests(shape: Shape) {
    let app = two_ingests(shape).await;
    let doc = json!({"rules": [{
        "name": "fail first three",
        "sequence": {"first": 3},
        "response": {"status": 500, "headers": [["retry-after", "1"]], "body": "try again"}
    }]});
    let path = path_with(&app, doc.clone()).await;
    // One after the other, alternating ingests: exactly 500, 500, 500, 200...
    let mut statuses = Vec::new();
    for i in 0..6 {
        let ingest = &app.ingests[i % app.ingests.len()];
        let r = app
            .client
            .post(format!("{ingest}/webhook/{path}"))
            .body(format!("attempt {i}"))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [500, 500, 500, 200, 200, 200]);
    let recorded = answers(&app, &path, 6).await;
    for (i, answer) in recorded.iter().enumerate() {
        if i < 3 {
            assert_eq!(answer["rule"], 0, "{answer}");
            assert_eq!(answer["rule_name"], "fail first three");
            assert_eq!(answer["status"], 500);
            assert_eq!(answer["body"], "try again");
        } else {
            assert!(answer.get("rule").is_none(), "{answer}");
            assert_eq!(answer["status"], 200);
        }
    }
    // The list shows each answer too (newest first).
    let list = app.get_json(&format!("/api/paths/{path}/logs")).await;
    let listed: Vec<(Value, Value)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["answer_status"].clone(), s["answer_rule"].clone()))
        .collect();
    let (ok, failed) = ((json!(200), Value::Null), (json!(500), json!(0)));
    assert_eq!(
        listed,
        [
            ok.clone(),
            ok.clone(),
            ok,
            failed.clone(),
            failed.clone(),
            failed
        ]
    );
    // Twelve senders at once over both ingests: still exactly three 500s.
    let path = path_with(&app, doc).await;
    let sends = (0..12).map(|i| {
        let url = format!("{}/webhook/{path}", app.ingests[i % app.ingests.len()]);
        let client = app.client.clone();
        async move {
            client
                .post(url)
                .body("x")
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = futures::future::join_all(sends).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 500).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        9,
        "{statuses:?}"
    );
}

async fn each_match_kind_and_combination_picks_its_rule(shape: Shape) {
    let app = two_ingests(shape).await;
    let rule = |when: Value, status: u16| json!({"when": when, "response": {"status": status}});
    let path = path_with(
        &app,
        json!({"rules": [
            rule(json!({"method": ["DELETE", "patch"]}), 210),
            rule(json!({"subpath": "/github/*"}), 211),
            rule(json!({"query": {"name": "mode", "equals": "strict"}}), 212),
            rule(json!({"query": {"name": "n", "regex": "^[0-9]{3}$"}}), 213),
            rule(json!({"header": {"name": "X-Signature", "present": false}}), 214),
            rule(json!({"header": {"name": "x-event", "equals": "ping"}}), 215),
            rule(json!({"header": {"name": "x-event", "regex": "^invoice\\."}}), 216),
            rule(json!({"json": {"pointer": "/data/amount", "equals": 0}}), 217),
            rule(json!({"json": {"pointer": "/type", "regex": "^order\\."}}), 218),
            rule(json!({"json": {"pointer": "/urgent"}}), 219),
            rule(json!({"all": [{"method": "PUT"}, {"not": {"subpath": "/keep/**"}}]}), 220),
            rule(json!({"any": [{"subpath": "/a/**"}, {"query": {"name": "any"}}]}), 221),
        ]}),
    )
    .await;
    // (method, subpath and query, headers, body, the status expected)
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, &'a str, u16);
    let cases: Vec<Case> = vec![
        ("PATCH", "", vec![], "", 210),
        ("POST", "/github/push", vec![], "", 211),
        (
            "POST",
            "/github/push/deeper",
            vec![("x-signature", "s")],
            "",
            200,
        ),
        ("POST", "?mode=strict", vec![], "", 212),
        ("POST", "?n=123", vec![("x-signature", "s")], "", 213),
        ("POST", "?n=1234", vec![("x-signature", "s")], "", 200),
        ("POST", "", vec![], "", 214),
        (
            "POST",
            "",
            vec![("x-signature", "s"), ("x-event", "ping")],
            "",
            215,
        ),
        (
            "POST",
            "",
            vec![("x-signature", "s"), ("x-event", "invoice.paid")],
            "",
            216,
        ),
        (
            "POST",
            "",
            vec![("x-signature", "s")],
            r#"{"data":{"amount":0}}"#,
            217,
        ),
        (
            "POST",
            "",
            vec![("x-signature", "s")],
            r#"{"data":{"amount":"0"}}"#,
            200,
        ),
        (
            "POST",
            "",
            vec![("x-signature", "s")],
            r#"{"type":"order.created"}"#,
            218,
        ),
        (
            "POST",
            "",
            vec![("x-signature", "s")],
            r#"{"urgent":false}"#,
            219,
        ),
        ("POST", "", vec![("x-signature", "s")], "not json", 200),
        ("PUT", "/x", vec![("x-signature", "s")], "", 220),
        ("PUT", "/keep/this/one", vec![("x-signature", "s")], "", 200),
        ("POST", "/a/b/c", vec![("x-signature", "s")], "", 221),
        ("POST", "?any", vec![("x-signature", "s")], "", 221),
    ];
    for (method, rest, headers, body, want) in &cases {
        let mut req = app.webhook(method, &path, rest).body(body.to_string());
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        let got = req.send().await.unwrap().status().as_u16();
        assert_eq!(got, *want, "{method} {rest} {headers:?} {body}");
    }
    // Each capture records the rule that answered it (none for the 200s).
    let recorded = answers(&app, &path, cases.len()).await;
    for ((method, rest, _, _, want), answer) in cases.iter().zip(&recorded) {
        assert_eq!(answer["status"], *want, "{method} {rest}");
        match want {
            200 => assert!(answer.get("rule").is_none(), "{answer}"),
            n => assert_eq!(answer["rule"], n - 210, "{method} {rest}"),
        }
    }
}

async fn a_template_echoes_the_request_id_and_a_body_field(shape: Shape) {
    let app = two_ingests(shape).await;
    let path = path_with(
        &app,
        json!({"rules": [{
            "when": {"method": "POST"},
            "response": {
                "status": 202,
                "headers": [["content-type", "application/json"]],
                "body_template": "{\"received\":\"{{ request.id }}\",\"order\":\"{{ pointer('/order/id') }}\",\"event\":\"{{ request.headers['x-event'] }}\",\"q\":\"{{ request.query.tag }}\"}"
            }
        }]}),
    )
    .await;
    let r = app
        .webhook("POST", &path, "?tag=blue")
        .header("x-event", "order.paid")
        .body(r#"{"order":{"id":"ord_42"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["content-type"], "application/json");
    let sent = r.text().await.unwrap();
    let answer: Value = serde_json::from_str(&sent).unwrap();
    let ids = app.wait_count(&path, 1).await;
    assert_eq!(answer["received"], ids[0].as_str());
    assert_eq!(answer["order"], "ord_42");
    assert_eq!(answer["event"], "order.paid");
    assert_eq!(answer["q"], "blue");
    // The capture keeps exactly what was sent back, and the HAR export too.
    let recorded = app.detail(&path, &ids[0]).await["response"].clone();
    assert_eq!(recorded["body"], sent.as_str());
    assert_eq!(recorded["status"], 202);
    let har = app
        .get_json(&format!("/api/paths/{path}/export?format=har"))
        .await;
    let response = &har["log"]["entries"][0]["response"];
    assert_eq!(response["status"], 202);
    assert_eq!(response["content"]["text"], sent.as_str());
    assert_eq!(response["_rule"], 0);
}

async fn a_rule_change_reaches_every_ingest_within_a_second(shape: Shape) {
    let app = two_ingests(shape).await;
    let path = path_with(&app, json!({"rules": [{"response": {"status": 201}}]})).await;
    let r = put_routing(
        &app,
        &path,
        json!({"rules": [{"response": {"status": 418}}]}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let changed = Instant::now();
    for ingest in &app.ingests {
        loop {
            let r = app
                .client
                .post(format!("{ingest}/webhook/{path}"))
                .send()
                .await
                .unwrap();
            if r.status() == 418 {
                break;
            }
            assert!(
                changed.elapsed() < Duration::from_secs(1),
                "the new rule is not live on {ingest} within 1 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn two_targets_receive_exactly_their_captures_transformed(shape: Shape) {
    let app = two_ingests(shape).await;
    let paid = app.new_path().await;
    let rest = app.new_path().await;
    let source = path_with(
        &app,
        json!({"targets": [
            {
                "name": "billing",
                "url": format!("{}/webhook/{paid}", app.ingest),
                "when": {"json": {"pointer": "/type", "equals": "invoice.paid"}},
                "transform": {
                    "headers": {"remove": ["x-secret"], "set": [["x-env", "staging"]]},
                    "json": {"remove": ["/card"], "set": [{"pointer": "/meta/env", "value": "staging"}]}
                }
            },
            {
                "name": "audit",
                "url": format!("{}/webhook/{rest}", app.ingest),
                "when": {"not": {"json": {"pointer": "/type", "equals": "invoice.paid"}}},
                "transform": {"body_template": "{{ request.method }} {{ pointer('/type') }}"}
            }
        ]}),
    )
    .await;
    let bodies = [
        r#"{"type":"invoice.paid","card":"4242","n":1}"#,
        r#"{"type":"customer.created","n":2}"#,
        r#"{"type":"invoice.paid","card":"4242","n":3}"#,
        r#"{"type":"charge.failed","n":4}"#,
        r#"{"type":"invoice.paid","card":"4242","n":5}"#,
    ];
    for body in bodies {
        app.send(
            app.webhook("POST", &source, "")
                .header("x-secret", "s3cr3t")
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
    }
    // Exactly their captures: three to billing, two to audit.
    let billed = app.wait_count(&paid, 3).await;
    let audited = app.wait_count(&rest, 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.all_ids(&paid).await.len(), 3);
    assert_eq!(app.all_ids(&rest).await.len(), 2);
    let mut ns = Vec::new();
    for id in &billed {
        let d = app.detail(&paid, id).await;
        let body: Value = serde_json::from_str(d["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["type"], "invoice.paid");
        assert!(body.get("card").is_none(), "{body}");
        assert_eq!(body["meta"]["env"], "staging");
        ns.push(body["n"].as_i64().unwrap());
        let headers = d["headers"].as_array().unwrap();
        assert!(!headers
            .iter()
            .any(|h| h[0].as_str().unwrap().eq_ignore_ascii_case("x-secret")));
        assert!(headers.iter().any(|h| h[0] == "x-env" && h[1] == "staging"));
    }
    ns.sort();
    assert_eq!(ns, [1, 3, 5]);
    let mut audit_bodies = Vec::new();
    for id in &audited {
        audit_bodies.push(
            app.detail(&rest, id).await["body"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    audit_bodies.sort();
    assert_eq!(
        audit_bodies,
        ["POST charge.failed", "POST customer.created"]
    );
    // The stored captures are as they were sent.
    let mut stored = Vec::new();
    for id in app.all_ids(&source).await {
        let d = app.detail(&source, &id).await;
        assert!(d["headers"].as_array().unwrap().iter().any(|h| h[0]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case("x-secret")
            && h[1] == "s3cr3t"));
        stored.push(d["body"].as_str().unwrap().to_owned());
    }
    stored.sort();
    let mut sent: Vec<String> = bodies.iter().map(|b| b.to_string()).collect();
    sent.sort();
    assert_eq!(stored, sent);
    // Each target has its own attempts log.
    let log = |target: &'static str| {
        let app = &app;
        let source = source.clone();
        async move {
            app.get_json(&format!("/api/paths/{source}/forwards?target={target}"))
                .await["items"]
                .as_array()
                .unwrap()
                .clone()
        }
    };
    let billing = log("billing").await;
    assert_eq!(billing.len(), 3);
    assert!(billing
        .iter()
        .all(|a| a["target_name"] == "billing" && a["status"] == 200));
    assert_eq!(log("audit").await.len(), 2);
}

async fn bad_documents_are_refused_naming_the_field_and_change_nothing(shape: Shape) {
    let app = two_ingests(shape).await;
    let good = json!({"rules": [{"name": "ok", "response": {"status": 201}}]});
    let path = path_with(&app, good.clone()).await;
    let before = app.get_json(&format!("/api/paths/{path}/routing")).await;
    let ok = || json!({"response": {"status": 200}});
    let many: Vec<Value> = (0..101).map(|_| ok()).collect();
    let big_template = "{% for i in range(100000) %}xxxxxxxxxx{% endfor %}";
    let cases = [
        (
            json!({"rules": [ok(), {"when": {"header": {"name": "x", "regex": "(unclosed"}}, "response": {"status": 200}}]}),
            "rules[1].when.header.regex",
        ),
        (
            json!({"rules": [{"when": {"json": {"pointer": "no-slash"}}, "response": {"status": 200}}]}),
            "rules[0].when.json.pointer",
        ),
        (
            json!({"rules": [{"response": {"status": 200, "body_template": "{{ unclosed"}}]}),
            "rules[0].response.body_template",
        ),
        (
            json!({"rules": [{"response": {"status": 200, "body_template": big_template}}]}),
            "rules[0].response",
        ),
        (json!({"rules": many}), "rules"),
        (
            json!({"rules": [ok(), ok(), {"response": {"status": 600}}]}),
            "rules[2].response",
        ),
        (
            json!({"rules": [{"response": {"status": 99}}]}),
            "rules[0].response",
        ),
        (
            json!({"rules": [{"response": {"status": 200, "delay_ms": 30001}}]}),
            "rules[0].response",
        ),
        (
            json!({"targets": [{"name": "t", "url": "http://10.11.12.13/hook"}]}),
            "targets[0].url",
        ),
        (
            json!({"targets": [{"name": "t", "url": "http://127.0.0.1:1/", "transform": {"json": {"set": [{"pointer": "x", "value": 1}]}}}]}),
            "targets[0].transform.json.set[0].pointer",
        ),
        (
            json!({"rules": [{"when": {"method": "POST", "subpath": "/x"}, "response": {"status": 200}}]}),
            "rules[0].when",
        ),
    ];
    for (doc, field) in cases {
        let r = put_routing(&app, &path, doc.clone()).await;
        assert_eq!(r.status(), 400, "{doc}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_routing");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(field), "{field}: {message}");
        // Nor through PATCH.
        let r = app
            .client
            .patch(format!("{}/api/paths/{path}", app.api))
            .json(&doc)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{doc}");
    }
    assert_eq!(
        app.get_json(&format!("/api/paths/{path}/routing")).await,
        before
    );
    let r = app.webhook("POST", &path, "").send().await.unwrap();
    assert_eq!(r.status(), 201, "the old rules still answer");
}

async fn the_document_exports_and_imports_whole(shape: Shape) {
    let app = two_ingests(shape).await;
    let doc = json!({
        "rules": [
            {"name": "sig", "when": {"header": {"name": "x-sig", "exists": false}}, "response": {"status": 401, "body": "no signature"}},
            {"sequence": {"count": "path", "from": 2, "to": 4}, "response": {"status": 503, "delay_ms": 10}},
        ],
        "targets": [{"name": "copy", "url": "http://127.0.0.1:9/", "retry": {"max_attempts": 2, "backoff_ms": 100}}]
    });
    let from = path_with(&app, doc).await;
    let exported = app.get_json(&format!("/api/paths/{from}/routing")).await;
    let to = app.new_path().await;
    let r = put_routing(&app, &to, exported.clone()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.get_json(&format!("/api/paths/{to}/routing")).await,
        exported
    );
    let view = app.get_json(&format!("/api/paths/{to}")).await;
    assert_eq!(view["rules"], exported["rules"]);
    assert_eq!(view["targets"], exported["targets"]);
    // An empty document clears both.
    assert_eq!(put_routing(&app, &to, json!({})).await.status(), 200);
    let cleared = app.get_json(&format!("/api/paths/{to}/routing")).await;
    assert_eq!(cleared, json!({"rules": [], "targets": []}));
}

both_shapes!(
    first_three_fail_then_succeed_across_both_ingests,
    each_match_kind_and_combination_picks_its_rule,
    a_template_echoes_the_request_id_and_a_body_field,
    a_rule_change_reaches_every_ingest_within_a_second,
    two_targets_receive_exactly_their_captures_transformed,
    bad_documents_are_refused_naming_the_field_and_change_nothing,
    the_document_exports_and_imports_whole,
);
