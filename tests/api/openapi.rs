//! The committed spec must match what the code generates. Regenerate with
//! `scripts/update-openapi.sh` after changing the API.

#[test]
fn committed_spec_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/clementine.json");
    let generated = format!("{}\n", clementine::api::spec_json());
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/clementine.json is out of date: run scripts/update-openapi.sh and commit the result"
    );
}

#[test]
fn every_route_is_documented_and_secured() {
    let spec: serde_json::Value = serde_json::from_str(&clementine::api::spec_json()).unwrap();
    assert_eq!(spec["servers"][0]["url"], "/apiv1");
    assert_eq!(
        spec["components"]["securitySchemes"]["Auth"]["scheme"],
        "bearer"
    );
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["summary"].is_string() || op["description"].is_string(),
                "{method} {path} has no doc"
            );
            let secured = op.get("security").is_some();
            assert_eq!(secured, path != "/login", "{method} {path}: security");
            assert!(
                op["responses"]["401"].is_object(),
                "{method} {path}: 401 documented"
            );
        }
    }
}
