//! compose2arch on whole compose files: what each rule makes of them, and
//! every malformed input refused in one line.

use super::packages::guess_package;
use super::*;
use spigo_proto::arch::{Architecture, ServiceSpec, EUREKA};
use spigo_proto::Package;

fn arch(yaml: &str) -> Architecture {
    let json = to_arch(yaml, "shop.yml").unwrap();
    Architecture::parse(&json, "out").unwrap()
}

fn err(yaml: &str) -> String {
    let e = to_arch(yaml, "shop.yml").unwrap_err().to_string();
    assert!(!e.contains('\n'), "{e}");
    assert!(e.starts_with("shop.yml: "), "{e}");
    e
}

fn svc<'a>(a: &'a Architecture, name: &str) -> &'a ServiceSpec {
    a.service(name).unwrap_or_else(|| panic!("no {name}"))
}

fn names(a: &Architecture) -> Vec<&str> {
    a.services.iter().map(|s| s.name.as_str()).collect()
}

#[test]
fn v1_services_sit_at_the_top_level() {
    let a = arch(
            "web:\n  image: nginx\n  links:\n    - app\napp:\n  build: .\n  links:\n    - db\n    - cache\ndb:\n  image: postgres:16\ncache:\n  image: redis\n",
        );
    assert_eq!(a.arch, "shop");
    assert_eq!(
        names(&a),
        ["db", "cache", "app", "web", "www-elb", "www"],
        "dependencies first"
    );
    assert_eq!(svc(&a, "web").package, Package::Zuul);
    assert_eq!(svc(&a, "app").package, Package::Karyon);
    assert_eq!(svc(&a, "app").dependencies, ["db", "cache"]);
    assert_eq!(svc(&a, "db").package, Package::Store);
    assert_eq!(svc(&a, "www-elb").dependencies, ["web"]);
    assert_eq!(svc(&a, "www-elb").count, 0);
    assert_eq!(svc(&a, "www").package, Package::Denominator);
    assert!(svc(&a, "www").is_global());
    assert!(a
        .services
        .iter()
        .take(4)
        .all(|s| s.count == 3 && s.regions == 1));
    assert_eq!(a.victim, "app");
}

#[test]
fn v2_depends_on_may_be_a_map() {
    let a = arch(
        r#"version: "2.1"
services:
  api:
    image: example/api:1.4
    depends_on:
      db:
        condition: service_healthy
      cache:
        condition: service_started
    links:
      - db
    scale: 2
  db:
    image: mysql:8
  cache:
    image: memcached
"#,
    );
    assert_eq!(svc(&a, "api").dependencies, ["db", "cache"]);
    assert_eq!(svc(&a, "api").count, 2);
    assert_eq!(svc(&a, "www-elb").dependencies, ["api"]);
    assert_eq!(svc(&a, "cache").package, Package::Store);
}

#[test]
fn v3_replicas_set_the_count() {
    let a = arch(
            "version: '3.8'\nservices:\n  web:\n    image: shop/web\n    depends_on: [api]\n    deploy:\n      replicas: 6\n  api:\n    image: shop/api\n    deploy: {mode: replicated, replicas: '4'}\n",
        );
    assert_eq!(svc(&a, "web").count, 6);
    assert_eq!(svc(&a, "api").count, 4);
    let e = err("services:\n  web:\n    image: x\n    scale: 2\n    deploy:\n      replicas: 3\n");
    assert_eq!(
        e,
        "shop.yml: line 6: service 'web': scale (2) and deploy.replicas (3) disagree"
    );
    let e = err("services:\n  web:\n    deploy:\n      replicas: 0\n");
    assert!(
        e.starts_with("shop.yml: line 4: service 'web': 0 replicas"),
        "{e}"
    );
    let e = err("services:\n  web:\n    scale: many\n");
    assert!(e.contains("scale must be a whole number"), "{e}");
}

#[test]
fn links_name_the_service_before_the_colon() {
    let a = arch(
            "services:\n  web:\n    image: php:8-apache\n    links:\n      - db:database\n      - db\n      - cache:mc\n  db:\n    image: mariadb\n  cache:\n    image: memcached:1.6\n",
        );
    assert_eq!(svc(&a, "web").dependencies, ["db", "cache"]);
    assert_eq!(svc(&a, "web").package, Package::Monolith);
    assert_eq!(a.victim, "web");
}

#[test]
fn packages_are_guessed_from_the_image_name() {
    for (image, forwards, want) in [
        ("cassandra:4", false, Package::PriamCassandra),
        ("docker.io/library/mysql:8.0", false, Package::Store),
        ("bitnami/postgresql:16", false, Package::Store),
        ("postgres@sha256:abcd", false, Package::Store),
        ("localhost:5000/redis:7", false, Package::Store),
        ("memcached", false, Package::Store),
        ("MongoDB", false, Package::Store),
        ("nginx:alpine", true, Package::Zuul),
        ("nginx:alpine", false, Package::Karyon),
        ("haproxy", true, Package::Zuul),
        ("traefik:v3", true, Package::Zuul),
        ("envoyproxy/envoy:v1.30", true, Package::Zuul),
        ("wordpress", true, Package::Monolith),
        ("mycorp/orders:2.1", true, Package::Karyon),
        ("${REGISTRY}/web:${TAG}", false, Package::Karyon),
    ] {
        assert_eq!(guess_package(image, forwards), want, "{image}");
    }
    // Without an image, the service name decides.
    let a = arch("services:\n  redis:\n    build: ./redis\n  worker:\n    build: .\n    depends_on: [redis]\n");
    assert_eq!(svc(&a, "redis").package, Package::Store);
    assert_eq!(svc(&a, "worker").package, Package::Karyon);
}

#[test]
fn cassandra_is_a_ring_replicating_across_regions() {
    let a = arch(
            "services:\n  api:\n    image: api\n    depends_on: [cass]\n  cass:\n    image: cassandra\n",
        );
    assert_eq!(svc(&a, "cass").dependencies, ["cass", EUREKA]);
    assert!(!svc(&a, "api").cross_region());
}

#[test]
fn malformed_yaml_is_one_line_with_the_line_number() {
    let e = err("services:\n  web:\n    image: [nginx\n");
    assert!(e.starts_with("shop.yml: line "), "{e}");
    let e = err("services:\n  web:\n    image: nginx\n   bad: indent\n");
    assert!(e.starts_with("shop.yml: line 4: "), "{e}");
    let e = err("services:\n  web: {}\n  web: {}\n");
    assert_eq!(e, "shop.yml: line 3: duplicated key in mapping");
    let e = err("- just\n- a list\n");
    assert_eq!(
        e,
        "shop.yml: line 1: not a docker-compose file: the top level must be a mapping"
    );
    let e = err("services:\n  - web\n");
    assert!(e.contains("'services' must be a mapping"), "{e}");
    let e = err("services:\n  web:\n    depends_on: api\n");
    assert_eq!(
        e,
        "shop.yml: line 3: service 'web': depends_on must be a list or a map"
    );
    let e = err("services:\n  web:\n    links: {api: x}\n");
    assert!(e.contains("links must be a list"), "{e}");
    let e = err("services:\n  web: nginx\n");
    assert_eq!(e, "shop.yml: line 2: service 'web': must be a mapping");
    let e = err("services:\n  \"we b\":\n    image: x\n");
    assert!(e.contains("is not a service name"), "{e}");
    let e = err("a: 1\n---\nb: 2\n");
    assert!(e.contains("second YAML document"), "{e}");
    let e = err("services:\n  web: \"\n");
    assert!(e.starts_with("shop.yml: line "), "{e}");
}

#[test]
fn references_must_name_services() {
    let e = err("services:\n  web:\n    depends_on: [db]\n");
    assert_eq!(
        e,
        "shop.yml: service 'web' depends on 'db', which is not a service"
    );
    let e = err("web:\n  links: ['db:database']\n");
    assert_eq!(
        e,
        "shop.yml: service 'web' links to 'db', which is not a service"
    );
    let e = err(
        "services:\n  a:\n    depends_on: [b]\n  b:\n    depends_on: [c]\n  c:\n    links: [a]\n",
    );
    assert_eq!(
        e,
        "shop.yml: services depend on each other in a cycle: a -> b -> c -> a"
    );
    let e = err("services:\n  a:\n    depends_on: [a]\n");
    assert!(e.contains("cycle: a -> a"), "{e}");
}

#[test]
fn no_services_is_an_error() {
    for yaml in [
        "",
        "# nothing\n",
        "version: '3'\n",
        "version: '3'\nservices:\n",
        "version: '3'\nservices: {}\nvolumes:\n  data: {}\n",
        "x-common: {restart: always}\n",
    ] {
        assert_eq!(err(yaml), "shop.yml: no services", "{yaml:?}");
    }
}

#[test]
fn names_are_made_safe() {
    let a = to_arch(
            "services:\n  api.v1:\n    image: x\n  www:\n    image: y\n    depends_on: [api.v1, eureka]\n  eureka:\n    image: springcloud/eureka\n",
            "/tmp/my shop.prod.yml",
        )
        .unwrap();
    let a = Architecture::parse(&a, "out").unwrap();
    assert_eq!(a.arch, "my-shop-prod");
    assert_eq!(names(&a), ["api-v1", "www", "www-elb", "www-2"]);
    assert_eq!(svc(&a, "www").dependencies, ["api-v1"]);
    assert_eq!(svc(&a, "www-2").dependencies, ["www-elb"]);
    let e = err("services:\n  web:\n    depends_on: [eureka]\n");
    assert!(
        e.contains("depends on 'eureka', which is not a service"),
        "{e}"
    );
    let e = err("services:\n  ? [a, b]\n  : {image: x}\n");
    assert_eq!(e, "shop.yml: line 2: service names must be plain text");
    let e = err("services:\n  a.b:\n    image: x\n  a-b:\n    image: y\n");
    assert_eq!(
            e,
            "shop.yml: services 'a.b' and 'a-b' would both be named 'a-b' (spigo's names cannot hold dots)"
        );
}

#[test]
fn anchors_and_merge_keys_are_followed() {
    let a = arch(
            "x-app: &app\n  image: shop/app\n  depends_on: [db]\n  deploy: {replicas: 2}\nservices:\n  db:\n    image: postgres\n  orders:\n    <<: *app\n  users:\n    <<: *app\n    deploy: {replicas: 5}\n",
        );
    assert_eq!(svc(&a, "orders").dependencies, ["db"]);
    assert_eq!(svc(&a, "orders").count, 2);
    assert_eq!(svc(&a, "users").count, 5);
    assert_eq!(svc(&a, "www-elb").dependencies, ["orders", "users"]);
}

#[test]
fn output_is_deterministic_and_in_the_json_arch_layout() {
    let yaml =
        "services:\n  web:\n    image: nginx\n    depends_on: [api]\n  api:\n    image: shop/api\n";
    let one = to_arch(yaml, "shop.yml").unwrap();
    assert_eq!(one, to_arch(yaml, "shop.yml").unwrap());
    assert!(!one.ends_with('\n'));
    assert!(one.contains(
            "\n    {\"name\": \"api\", \"package\": \"karyon\", \"count\": 3, \"regions\": 1, \"dependencies\": []},\n"
        ));
    let value: serde_json::Value = serde_json::from_str(&one).unwrap();
    assert_eq!(value["services"].as_array().unwrap().len(), 4);
}

#[test]
fn hostile_input_is_refused_without_panicking() {
    let deep = "[".repeat(100_000);
    assert!(err(&deep).starts_with("shop.yml: line 1: "));
    let laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    err(laughs);
    err("services:\n  ? [a, b]\n  : {image: x}\n");
    err("services:\n  web:\n    depends_on: [[a]]\n");
    err("\u{feff}services:\n  web:\n    image: !!int nginx\n");
}
